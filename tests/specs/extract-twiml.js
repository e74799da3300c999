// Read the allowed TwiML attribute names and values from the `twilio` package's own
// TypeScript declarations (lib/twiml/VoiceResponse.d.ts) and print them as JSON:
//   {"version": "...", "types": {"SayVoice": [...], ...},
//    "elements": {"Say": {"voice": "SayVoice", "loop": "number", ...}, ...}}
// An element's attribute type is either a primitive (string/number/boolean), an enum type
// name from "types", or such a name followed by [] (a space-separated list in TwiML).
'use strict';
const fs = require('fs');
const path = require('path');

const pkgDir = path.dirname(require.resolve('twilio/package.json'));
const dts = fs.readFileSync(path.join(pkgDir, 'lib/twiml/VoiceResponse.d.ts'), 'utf8');
const version = require('twilio/package.json').version;

const types = {};
for (const m of dts.matchAll(/type (\w+) = ([^;]+);/g)) {
  const values = [...m[2].matchAll(/"([^"]*)"/g)].map((v) => v[1]);
  if (!values.length) continue;
  types[m[1]] = [...new Set([...(types[m[1]] || []), ...values])];
}

const elements = {};
for (const m of dts.matchAll(/export interface (\w+)Attributes \{([^}]*)\}/g)) {
  const attrs = elements[m[1]] || {};
  for (const a of m[2].matchAll(/^\s*(\w+)\?: ([\w[\]]+);/gm)) attrs[a[1]] = a[2];
  elements[m[1]] = attrs;
}

if (!types.SayVoice || !types.GatherLanguage || !elements.Dial) {
  throw new Error('twilio types changed shape: SayVoice, GatherLanguage or DialAttributes missing');
}
process.stdout.write(JSON.stringify({version, types, elements}, null, 1));
