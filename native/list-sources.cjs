// Prints one of the native source lists for binding.gyp, so the gyp build and the CMake build
// compile the same files. Usage: node list-sources.cjs <prefix> [list]
//   list: "sources" (default; portable files), "sources-avx2" or "sources-avx512" (files built
//   with that instruction set enabled, chosen at run time by native/cpu/dispatch.cpp), or
//   "sources-addon" (the N-API glue of native/addon).
const fs = require('fs');
const path = require('path');
const prefix = process.argv[2] || '';
const list = process.argv[3] || 'sources';
const files = fs.readFileSync(path.join(__dirname, `${list}.txt`), 'utf8').split(/\s+/).filter(Boolean);
process.stdout.write(files.map((f) => prefix + f).join(' '));
