// The jambonz side of the telephony lint, run with jambonz's own npm packages.
//
//   node jambonz-check.js            serve: one JSON request per stdin line, one JSON answer
//                                    per stdout line (a long-lived process for a test session)
//   node jambonz-check.js vectors    print Jambonz-Signature test vectors, each one confirmed
//                                    by @jambonz/node-client's verifyJambonzSignature
//
// Requests:
//   {"kind": "verbs", "doc": [...]}        -> {"findings": [...]} from @jambonz/verb-specifications
//   {"kind": "create"|"update", "body": {}} -> {"findings": [...]} from node-client's REST validators
//   {"kind": "verify", "secret": s, "body": raw, "header": h, "now": unix}
//                                          -> {"ok": bool, "error": "..."} via verifyJambonzSignature
'use strict';
const crypto = require('crypto');
const readline = require('readline');
const {normalizeJambones, validateVerb} = require('@jambonz/verb-specifications');
const {WebhookResponse} = require('@jambonz/node-client');
const {validators} = require('@jambonz/node-client/lib/utils');

const logger = {info() {}, debug() {}, error() {}};

function verbFindings(doc) {
  let normalized;
  try {
    normalized = normalizeJambones(logger, doc);
  } catch (err) {
    return [err.message];
  }
  const findings = [];
  normalized.forEach((task, i) => {
    const name = Object.keys(task)[0];
    try {
      validateVerb(name, task[name], logger);
    } catch (err) {
      findings.push(`verb ${i} (${name}): ${err.message}`);
    }
  });
  return findings;
}

function restFindings(kind, body) {
  try {
    validators.Calls[kind](body);
    return [];
  } catch (err) {
    return [err.message];
  }
}

function verify({secret, body, header, now}) {
  const realNow = Date.now;
  if (now) Date.now = () => now * 1000;
  try {
    const req = {url: '/hook', body, get: (h) => (h === 'Jambonz-Signature' ? header : undefined)};
    let passed = false;
    WebhookResponse.verifyJambonzSignature(secret)(req, {}, () => { passed = true; });
    return {ok: passed};
  } catch (err) {
    return {ok: false, error: err.message};
  } finally {
    Date.now = realNow;
  }
}

function sign(secret, body, t) {
  return crypto.createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
}

function vectors() {
  const now = 1767225600; // fixed "now" the vectors are checked at
  const secret = 'wh_secret_cJqN8QnBq5x7ZkTR';
  const bodies = [
    JSON.stringify({call_sid: 'b5e39996-bd2f-4bda-b928-355147186a2a', direction: 'inbound',
      from: '+8613800138000', to: '12345', call_status: 'trying', sip_status: 100}),
    JSON.stringify({call_sid: 'c1', digits: '9', reason: 'dtmfDetected', call_status: 'in-progress'}),
    JSON.stringify({call_sid: 'c2', speech: {is_final: true, alternatives: [
      {confidence: 0.9, transcript: '我要投诉噪音'}]}, reason: 'speechDetected'}),
    JSON.stringify({call_sid: 'c3', dial_call_status: 'no-answer', dial_sip_status: 487}),
  ];
  const out = [];
  for (const body of bodies) {
    const t = now - 12;
    out.push({name: 'valid', secret, body, now, header: `t=${t},v1=${sign(secret, body, t)}`});
  }
  const body = bodies[0];
  const t = now - 5;
  const good = sign(secret, body, t);
  out.push({name: 'rotated secret, second v1 matches', secret, body, now,
    header: `t=${t},v1=${sign('old-secret', body, t)},v1=${good}`});
  out.push({name: 'body tampered', secret, now, body: body.replace('12345', '12346'),
    header: `t=${t},v1=${good}`});
  out.push({name: 'timestamp changed', secret, body, now, header: `t=${t + 1},v1=${good}`});
  out.push({name: 'other secret', secret: 'not-the-secret', body, now, header: `t=${t},v1=${good}`});
  out.push({name: 'signature flipped', secret, body, now,
    header: `t=${t},v1=${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`});
  const old = now - 301;
  out.push({name: 'outside tolerance', secret, body, now, header: `t=${old},v1=${sign(secret, body, old)}`});
  out.push({name: 'no v1', secret, body, now, header: `t=${t}`});
  out.push({name: 'no timestamp', secret, body, now, header: `v1=${good}`});
  for (const v of out) {
    const res = verify(v);
    v.valid = res.ok;
    v.node_error = res.error || '';
  }
  return out;
}

if (process.argv[2] === 'vectors') {
  process.stdout.write(JSON.stringify(vectors(), null, 1));
} else {
  const rl = readline.createInterface({input: process.stdin});
  rl.on('line', (line) => {
    let answer;
    try {
      const req = JSON.parse(line);
      if (req.kind === 'verbs') answer = {findings: verbFindings(req.doc)};
      else if (req.kind === 'create' || req.kind === 'update') answer = {findings: restFindings(req.kind, req.body)};
      else if (req.kind === 'verify') answer = verify(req);
      else answer = {error: `unknown kind ${req.kind}`};
    } catch (err) {
      answer = {error: err.message};
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
}
