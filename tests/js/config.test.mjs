// The checks on window.__APP_CONFIG__, as the local stack and the deploy script write it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ConfigError, loadConfig, parseConfig } from "../../site/js/config.js";

const local = {
  apiBaseUrl: "http://127.0.0.1:8701",
  assetBaseUrl: "http://127.0.0.1:8700/assets",
  region: "us-east-1",
  userPoolId: "us-east-1_abc",
  userPoolClientId: "client",
  userPoolIssuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
  cognitoEndpoint: "http://127.0.0.1:8702",
  authFlow: "USER_PASSWORD_AUTH",
  environment: "local",
};

const aws = {
  apiBaseUrl: "https://abc.execute-api.eu-west-1.amazonaws.com/",
  assetBaseUrl: "https://d111.cloudfront.net/assets",
  region: "eu-west-1",
  userPoolId: "eu-west-1_abc",
  userPoolClientId: "client",
  userPoolIssuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
  hostedUiUrl: "https://asset-uploads-dev-1.auth.eu-west-1.amazoncognito.com",
  authFlow: "HOSTED_UI",
  environment: "preview",
};

describe("config", () => {
  test("the local stack's config is accepted as it is", () => {
    const config = parseConfig(local);
    assert.equal(config.authFlow, "USER_PASSWORD_AUTH");
    assert.equal(config.cognitoEndpoint, "http://127.0.0.1:8702");
    assert.equal(config.hostedUiUrl, null);
    assert.equal(config.pageSize, 12);
    assert.equal(config.maxUploadBytes, null);
    assert.ok(Object.isFrozen(config));
  });

  test("the AWS config is accepted, trailing slashes removed", () => {
    const config = parseConfig({ ...aws, maxUploadBytes: 10485760, pageSize: 24 });
    assert.equal(config.apiBaseUrl, "https://abc.execute-api.eu-west-1.amazonaws.com");
    assert.equal(config.hostedUiUrl, aws.hostedUiUrl);
    assert.equal(config.cognitoEndpoint, null);
    assert.equal(config.maxUploadBytes, 10485760);
    assert.equal(config.pageSize, 24);
  });

  test("loadConfig reads the global config.js sets", () => {
    globalThis.__APP_CONFIG__ = Object.freeze({ ...local });
    try {
      assert.equal(loadConfig().apiBaseUrl, local.apiBaseUrl);
    } finally {
      delete globalThis.__APP_CONFIG__;
    }
    assert.throws(() => loadConfig(), /config.js did not load/);
  });

  const refusals = [
    ["a missing key", { ...aws, apiBaseUrl: undefined }, /apiBaseUrl is missing/],
    ["an unknown flow", { ...aws, authFlow: "IMPLICIT" }, /authFlow must be/],
    ["the hosted UI without its URL", { ...aws, hostedUiUrl: "" }, /hostedUiUrl is missing/],
    [
      "the password flow without the Cognito endpoint",
      { ...local, cognitoEndpoint: undefined },
      /cognitoEndpoint is missing/,
    ],
    [
      "plain http to another machine",
      { ...aws, apiBaseUrl: "http://abc.execute-api.eu-west-1.amazonaws.com" },
      /must be an https URL/,
    ],
    ["a URL with credentials", { ...aws, apiBaseUrl: "https://user:pw@example.com" }, /plain base URL/],
    ["a javascript: URL", { ...aws, assetBaseUrl: "javascript:alert(1)" }, /must be an https URL/],
    ["not a URL", { ...aws, apiBaseUrl: "api" }, /not a URL/],
    ["a silly page size", { ...aws, pageSize: 0 }, /pageSize must be/],
    ["a fractional limit", { ...aws, maxUploadBytes: 1.5 }, /maxUploadBytes must be/],
    ["nothing at all", undefined, /did not load/],
  ];
  for (const [name, raw, message] of refusals) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => parseConfig(raw),
        (error) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }
});
