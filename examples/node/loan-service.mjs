#!/usr/bin/env node
// A loan service in Node.js, before it pays out: verify the idverify token offline (npm `jose`, keys from the
// admin port's JWKS over plain HTTP), check that it was issued for this loan application, amount and payout
// account, then redeem it, exactly once, over gRPC (`@grpc/grpc-js`, the .proto files loaded at run time).
//
//   node loan-service.mjs --server 127.0.0.1:50051 --jwks http://127.0.0.1:9464/.well-known/jwks.json \
//       --token "$token" --loan L-1 --amount 1200.00 --payout-account 6222020000000001
//
// The API key of a loan_service caller comes from IDVERIFY_API_KEY. Prints one JSON object; exit status 0 when the
// token was redeemed now, 1 when it was refused (the reason code is printed), 2 for a usage error.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

const here = path.dirname(fileURLToPath(import.meta.url));

const { values: opts } = parseArgs({
  options: {
    server: { type: 'string', default: '127.0.0.1:50051' },
    jwks: { type: 'string', default: 'http://127.0.0.1:9464/.well-known/jwks.json' },
    issuer: { type: 'string', default: 'idverify' },
    audience: { type: 'string', default: 'loan-service' },
    token: { type: 'string' },
    loan: { type: 'string' },
    amount: { type: 'string' },
    currency: { type: 'string', default: 'CNY' },
    'payout-account': { type: 'string' },
    'proto-dir': { type: 'string', default: path.resolve(here, '../../proto') },
    help: { type: 'boolean', default: false },
  },
});

function usage(message) {
  if (message) console.error(`loan-service: ${message}`);
  console.error('usage: IDVERIFY_API_KEY=... node loan-service.mjs --token T --loan ID --amount 1200.00 ' +
    '--payout-account ACCOUNT [--currency CNY] [--server HOST:PORT] [--jwks URL] [--issuer I] [--audience A]');
  process.exit(message ? 2 : 0);
}

if (opts.help) usage();
for (const name of ['token', 'loan', 'amount', 'payout-account']) {
  if (!opts[name]) usage(`--${name} is required`);
}
if (!process.env.IDVERIFY_API_KEY) usage('IDVERIFY_API_KEY (a loan_service API key) is not set');

// The same canonical form and hash as idverify_client.claims.payout_account_hash.
function payoutAccountHash(jti, account) {
  const normalised = account.replace(/\s+/g, '').replaceAll('-', '').toUpperCase();
  return createHash('sha256').update(`${jti}:${normalised}`, 'utf8').digest('base64url');
}

// Amounts compare as decimal numbers ("1200" equals "1200.00"), never as floats.
function sameAmount(a, b) {
  const canon = (s) => {
    if (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(s)) return null;
    const [whole, fraction = ''] = s.split('.');
    return `${whole}.${fraction.replace(/0+$/, '')}`;
  };
  return canon(a) !== null && canon(a) === canon(b);
}

function refuse(reason, detail) {
  console.log(JSON.stringify({ refused: { reason, detail } }));
  process.exit(1);
}

async function verifyOffline(token) {
  const jwks = createRemoteJWKSet(new URL(opts.jwks));
  let result;
  try {
    result = await jwtVerify(token, jwks, {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms: ['EdDSA'],
      typ: 'idverify-vt+jwt',
      requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp', 'sid', 'acr', 'amr', 'authorization_details'],
    });
  } catch (err) {
    if (err instanceof errors.JWTExpired) refuse('token_expired', err.code);
    if (err instanceof errors.JOSEError) refuse('token_invalid', err.code);
    throw err; // the JWKS could not be fetched, or a bug: not a verdict about the token
  }
  const claims = result.payload;
  const details = claims.authorization_details;
  const detail = Array.isArray(details) && details.length === 1 ? details[0] : null;
  if (!detail || detail.type !== 'loan_application') refuse('token_invalid', 'authorization_details');
  if (detail.loan_application_id !== opts.loan) refuse('token_binding_mismatch', 'loan_application_id');
  if (!sameAmount(detail.amount?.value ?? '', opts.amount)) refuse('token_binding_mismatch', 'amount');
  if (detail.amount?.currency !== opts.currency) refuse('token_binding_mismatch', 'currency');
  if (detail.payout_account_hash !== payoutAccountHash(claims.jti, opts['payout-account'])) {
    refuse('token_binding_mismatch', 'payout_account');
  }
  return { kid: result.protectedHeader.kid, jti: claims.jti, acr: claims.acr, amr: claims.amr, exp: claims.exp };
}

function tokenService() {
  const definition = protoLoader.loadSync('idverify/v1/token.proto', {
    includeDirs: [opts['proto-dir']],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const { TokenService } = grpc.loadPackageDefinition(definition).idverify.v1;
  return new TokenService(opts.server, grpc.credentials.createInsecure());
}

function redeem(client, token) {
  const metadata = new grpc.Metadata();
  metadata.set('x-api-key', process.env.IDVERIFY_API_KEY);
  const request = {
    token,
    loan_application_id: opts.loan,
    amount: { value: opts.amount, currency: opts.currency },
    payout_account: opts['payout-account'],
  };
  return new Promise((resolve, reject) => {
    client.RedeemToken(request, metadata, { deadline: Date.now() + 10_000 }, (err, reply) =>
      err ? reject(err) : resolve(reply));
  });
}

const verified = await verifyOffline(opts.token);
const client = tokenService();
try {
  const reply = await redeem(client, opts.token);
  console.log(JSON.stringify({ verified, redeemed: { token_id: reply.token_id, redemption_id: reply.redemption_id,
    session_id: reply.session_id, methods: reply.methods } }));
} catch (err) {
  const reason = err.metadata?.get('idverify-reason')?.[0]?.toString() ?? grpc.status[err.code] ?? 'unknown';
  refuse(reason, err.details);
} finally {
  client.close();
}
