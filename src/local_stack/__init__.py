"""The whole system on one machine: moto server, provisioning, worker poller, local CDN, page."""
