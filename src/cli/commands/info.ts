// `dpfl info`: what the loaded native core is and how it runs.
import { createRequire } from 'node:module';
import { info as nativeInfo } from '../../kernels/info.js';
import { parseCommandArgs, type Command } from '../command.js';

export const info: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, {});
    if (values.help) {
      console.log('usage: dpfl info [--json]\n\nDPFL_ISA=scalar|avx2|avx512 and DPFL_THREADS=N override the defaults.');
      return 0;
    }
    const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
    const report = {
      version,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      ...nativeInfo(),
    };
    if (values.json) console.log(JSON.stringify(report));
    else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(12)} ${v}`);
    return 0;
  },
};
