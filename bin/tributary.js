#!/usr/bin/env node
// The `tributary` command. A bin runs under whichever `node` is first on PATH: `npx tributary`
// and `npm run` put node_modules/.bin first, and with it the project's pinned Node 24. Any older
// Node cannot load the TypeScript sources, so it is refused here, before anything is imported,
// in plain JavaScript that older Nodes still parse.
var major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    'tributary needs Node 24 or later; this is Node ' + process.versions.node + ' (' + process.execPath + ').\n' +
      'Run it through npm, which uses the Node 24 the project installs: npx tributary check <config>, or npm run check -- <config>.'
  );
  process.exit(1);
}

const [command, ...args] = process.argv.slice(2);
const USAGE = 'Usage: tributary check [config ...] [--worker] [--secret NAME ...]   (tributary check --help for more)';

if (command === 'check') {
  // A promise chain, not top-level await, like the check above: nothing here needs a new Node.
  import('../src/node/check-command.ts')
    .then(({ runCheck }) => runCheck(args))
    .then(
      (status) => {
        process.exitCode = status;
      },
      (error) => {
        console.error('tributary check stopped:', error);
        process.exitCode = 1;
      },
    );
} else if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  console.log(USAGE);
} else {
  console.error(`tributary: unknown command "${command}"\n${USAGE}`);
  process.exitCode = 2;
}
