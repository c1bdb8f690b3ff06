#!/bin/sh
# The image's entrypoint, as in AWS's base images: `docker run IMAGE module.handler`. SAM never
# uses it (it starts its own emulator), and this image ships no emulator of its own.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  if [ -x /usr/local/bin/aws-lambda-rie ]; then
    exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap
  fi
  echo "no Lambda runtime API: run functions in this image with sam local, or mount aws-lambda-rie at /usr/local/bin" 1>&2
  exit 142
fi
exec /var/runtime/bootstrap
