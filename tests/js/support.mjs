// Fakes for the page modules' injectable collaborators: fetch, sessionStorage, ID tokens.
import { base64UrlEncode } from "../../site/js/pkce.js";

/** An unsigned JWT with these claims: the page only reads claims, the API verifies. */
export function fakeIdToken(claims) {
  const part = (value) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.signature`;
}

/** A Map behind the Storage methods the page uses. */
export function memoryStorage() {
  const items = new Map();
  return {
    items,
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

/** A fetch that records requests and answers from a list of handlers, in order. */
export function scriptedFetch(...answers) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url: String(url), init });
    const answer = answers.shift();
    if (!answer) throw new Error(`unexpected request to ${url}`);
    if (answer instanceof Error) throw answer;
    return typeof answer === "function" ? answer(url, init) : answer;
  };
  return { fetch, calls };
}

/** A JSON Response. */
export function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export const localConfig = Object.freeze({
  apiBaseUrl: "http://127.0.0.1:8701",
  assetBaseUrl: "http://127.0.0.1:8700/assets",
  region: "us-east-1",
  userPoolId: "us-east-1_pool",
  userPoolClientId: "client-1",
  userPoolIssuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool",
  authFlow: "USER_PASSWORD_AUTH",
  environment: "local",
  cognitoEndpoint: "http://127.0.0.1:8702",
  hostedUiUrl: null,
  maxUploadBytes: null,
  pageSize: 12,
});

export const hostedConfig = Object.freeze({
  ...localConfig,
  apiBaseUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com",
  assetBaseUrl: "https://d111.cloudfront.net/assets",
  authFlow: "HOSTED_UI",
  environment: "preview",
  cognitoEndpoint: null,
  hostedUiUrl: "https://asset-uploads-dev-123.auth.eu-west-1.amazoncognito.com",
});
