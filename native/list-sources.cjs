// Prints the core's source files (native/sources.txt) for binding.gyp, so the gyp build and the
// CMake build compile one list. Usage: node list-sources.cjs [prefix]
const fs = require('fs');
const path = require('path');
const prefix = process.argv[2] || '';
const list = fs.readFileSync(path.join(__dirname, 'sources.txt'), 'utf8').split(/\s+/).filter(Boolean);
process.stdout.write(list.map((f) => prefix + f).join(' '));
