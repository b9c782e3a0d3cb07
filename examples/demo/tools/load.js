// Steady traffic for the demo: RPS requests per second to URL until stopped.
// Usage: node tools/load.js URL RPS
'use strict';
const [url, rpsArg] = process.argv.slice(2);
const rps = Number(rpsArg ?? 40);
let sent = 0;
let failed = 0;
setInterval(() => {
  sent++;
  fetch(url).then(
    (r) =>
      r.arrayBuffer().then(() => {
        if (!r.ok) failed++;
      }),
    () => failed++,
  );
}, 1000 / rps);
setInterval(() => console.log(`${new Date().toISOString()} sent ${sent}, failed ${failed}`), 5000);
process.on('SIGTERM', () => process.exit(0));
