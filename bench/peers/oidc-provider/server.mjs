// node-oidc-provider as a client_credentials token issuer, for the peers benchmark.
// Environment: PORT (18101), WORKERS (1 = single process, N = node:cluster with N workers),
// AT_FORMAT (jwt | opaque), AT_ALG (RS256 | ES256 | EdDSA), CLIENT_ID, CLIENT_SECRET.
import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 18101);
const HOST = '127.0.0.1';
const WORKERS = Number(process.env.WORKERS || 1);
const AT_FORMAT = process.env.AT_FORMAT || 'jwt';
const AT_ALG = process.env.AT_ALG || 'RS256';
const CLIENT_ID = process.env.CLIENT_ID || 'bench-client';
const CLIENT_SECRET = process.env.CLIENT_SECRET || 'bench-secret';
const RESOURCE = 'urn:peers:bench-api';

function makeJwks() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return {
    keys: [
      { ...rsa, kid: 'rs256-1', use: 'sig', alg: 'RS256' },
      { ...ec, kid: 'es256-1', use: 'sig', alg: 'ES256' },
      { ...ed, kid: 'eddsa-1', use: 'sig', alg: 'EdDSA' },
    ],
  };
}

function start(jwks, cookieKey) {
  const provider = new Provider(`http://${HOST}:${PORT}`, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api',
    }],
    scopes: ['api'],
    jwks,
    cookies: { keys: [cookieKey] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'api',
            audience: RESOURCE,
            accessTokenTTL: 3600,
            accessTokenFormat: AT_FORMAT,
            ...(AT_FORMAT === 'jwt' ? { jwt: { sign: { alg: AT_ALG } } } : {}),
          };
        },
      },
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
    },
    ttl: { ClientCredentials: 3600 },
  });
  provider.listen(PORT, HOST);
}

if (WORKERS <= 1) {
  start(makeJwks(), randomBytes(32).toString('hex'));
  console.log(`oidc-provider pid ${process.pid} on ${HOST}:${PORT} format=${AT_FORMAT} alg=${AT_ALG} workers=1`);
} else if (cluster.isPrimary) {
  // All workers share one key set, so any worker's token verifies against the same JWKS.
  const env = { PEERS_JWKS: JSON.stringify(makeJwks()), PEERS_COOKIE_KEY: randomBytes(32).toString('hex') };
  for (let i = 0; i < WORKERS; i += 1) cluster.fork(env);
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`oidc-provider primary pid ${process.pid} on ${HOST}:${PORT} format=${AT_FORMAT} alg=${AT_ALG} workers=${WORKERS}`);
} else {
  start(JSON.parse(process.env.PEERS_JWKS), process.env.PEERS_COOKIE_KEY);
}
