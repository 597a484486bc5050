// `dpfl bench`: microbenchmarks of every kernel over the grid of issue 3, with the machine's read
// bandwidth, a scalar C++ baseline (both from the C++ harness in bench/cpp) and a plain
// TypeScript baseline measured in the same run. See docs/benchmarks.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SECTIONS, sectionRows } from '../../bench/sections.js';
import {
  buildHarness,
  exactFilter,
  HarnessUnavailable,
  mergeReports,
  packageRoot,
  runHarness,
  type HarnessReport,
} from '../../bench/harness.js';
import { loadAtStart, machineInfo } from '../../bench/machine.js';
import { callOverheads, isaVariants, mergeResults, type BenchDocument } from '../../bench/report.js';
import { renderMarkdown, renderText } from '../../bench/render.js';
import { runTsSuite } from '../../bench/suite.js';
import { runMemoryMode } from '../../bench/memory-mode.js';
import { wanted } from '../../bench/grid.js';
import { flagOptions, parseCommandArgs, stringOptions, type Command } from '../command.js';
import { numberOption, optionParser } from '../options.js';
import { ProgressLine } from '../progress.js';
import { runBenchDpsgd } from './bench-dpsgd.js';
import { runBenchUtility } from './bench-utility.js';

const HELP = `usage: dpfl bench [--quick] [--json] [--filter RE] [--no-cpp] [--no-baseline] [--isa-sweep]
                  [--build-dir DIR] [--no-build] [--out DIR] [--time-ms MS] [--probe-mib MIB]
                  [--cold N] [--cold-idle-ms MS]
       dpfl bench --render FILE [--markdown]
       dpfl bench dpsgd [--model linear|mlp|text] [--batch-size B] [--steps N] [--json]
       dpfl bench utility [--seeds 1,2,3] [--dataset spam|mnist] [--json]

Times every kernel (clipping flat and per layer, Philox and secure noise, weighted sum, streaming
aggregator) over the shape grid of issue 3 through the public API, beside the C++ harness's
read-bandwidth probe, the kernels called from C++, single-threaded scalar C++ baselines and plain
TypeScript baselines, all in this run. DPFL_THREADS and DPFL_ISA apply to both sides.
  --quick        drop the 4 GB clipping shape and shorten the time per case
  --json         print one JSON object on stdout and write it to DIR/<YYYY-MM-DD>.json
  --filter RE    only the cases whose "kernel shape" matches the regular expression RE
                 (e.g. clip, noise_secure, "^weighted_sum 10x1000$", "x1000000$")
  --no-cpp       skip the C++ harness (no probe, no C++ columns)
  --no-baseline  skip the scalar C++ and TypeScript baselines (much faster)
  --isa-sweep    the C++ harness also times each kernel under every other ISA the CPU supports
  --build-dir    CMake build directory of the harness (default build-cmake); the harness target is
                 brought up to date first (incremental), so it links the current core
  --no-build     run the harness binary as it is
  --out DIR      where --json writes (default bench/results)
  --time-ms MS   time budget per case (default 750, 250 with --quick; at least 5 calls, 3 for
                 baselines and calls moving over 2 GB)
  --probe-mib N  read-probe buffer (default 2048 MiB, several times the last-level cache)
  --cold N       cold calls per kernel case, API and C++ (default 3; 0: none): each the first call
                 after the process sat idle (--cold-idle-ms, default 1000), reported beside the
                 warm median as cold/warm. The header names the memory mode the probe measured
                 (slow ~35 GB/s, fast ~60, else other; see src/bench/memory-mode.ts)
  --render FILE  print the table of a saved JSON result (bench/results/*.json) and exit;
                 with --markdown, as Markdown tables

After the grid come the sections (each selected by --filter on its name followed by a space,
e.g. --filter '^serve '): accounting, dpsgd, fl, blocks, secagg, serve (a load test of the
network server: minutes, and up to 4 GB of database on disk; see docs/benchmarks.md).`;

const options = optionParser('prose');

export const bench: Command = {
  async run(argv) {
    if (argv[0] === 'dpsgd') return runBenchDpsgd(argv.slice(1));
    if (argv[0] === 'utility') return runBenchUtility(argv.slice(1));
    const { values } = parseCommandArgs(argv, {
      ...stringOptions('filter', 'build-dir', 'out', 'time-ms', 'probe-mib', 'render', 'cold', 'cold-idle-ms'),
      ...flagOptions('quick', 'no-cpp', 'no-baseline', 'isa-sweep', 'no-build', 'markdown'),
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.render !== undefined) {
      const saved = JSON.parse(readFileSync(values.render, 'utf8')) as BenchDocument;
      console.log(values.markdown ? renderMarkdown(saved) : renderText(saved));
      return 0;
    }
    const quick = values.quick === true;
    const filter = values.filter;
    const baselines = values['no-baseline'] !== true;
    const isaSweep = values['isa-sweep'] === true;
    const timeMs = values['time-ms'] === undefined ? undefined : numberOption('time-ms', values['time-ms']);
    const probeMib = values['probe-mib'] === undefined ? undefined : numberOption('probe-mib', values['probe-mib']);
    const cold = {
      samples: options.integer('cold', values.cold, 3, 0),
      idleMs: options.where('cold-idle-ms', values['cold-idle-ms'], 1000, (v) => v >= 0, 'a non-negative number'),
    };
    if (filter !== undefined) new RegExp(filter); // a bad pattern fails here, before minutes of work
    const started = new Date();
    const progress = new ProgressLine({ label: 'dpfl bench' });
    let exitCode = 0;
    if (loadAtStart > 0.5) {
      console.error(
        `dpfl bench: load average ${loadAtStart.toFixed(1)}: other processes are running, results will be noisy`,
      );
    }

    // The C++ harness runs once per shape, just before the TypeScript side times the same shape
    // (and before this process allocates its buffers), so both are measured within seconds of each
    // other: this machine's bandwidth drifts by a factor of several within minutes.
    const reports: HarnessReport[] = [];
    const buildDir = resolve(packageRoot, values['build-dir'] ?? 'build-cmake');
    let harness = values['no-cpp'] !== true;
    let built = false;
    const beforeShape = async (ids: string[]) => {
      if (!harness) return;
      try {
        if (!built && values['no-build'] !== true) buildHarness(buildDir, (line) => progress.status(line));
        built = true;
        reports.push(
          await runHarness({
            quick,
            filter: exactFilter(ids),
            baselines,
            isaSweep,
            probeMib,
            probeReps: 2, // start and end of each per-shape run; the shape gets its own sample too
            timeMs,
            cold,
            buildDir,
            onProgress: (line) => progress.status(line),
          }),
        );
      } catch (err) {
        harness = false;
        progress.finish();
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof HarnessUnavailable) {
          console.error(`dpfl bench: ${message}; continuing without the probe and the C++ columns`);
        } else {
          console.error(`dpfl bench: the C++ harness failed, continuing without it: ${message}`);
          exitCode = 1;
        }
      }
    };
    const { rows: ts, checksum } = await runTsSuite({
      quick,
      filter,
      baselines,
      timeMs,
      cold,
      progress: (m) => progress.status(m),
      beforeShape,
    });
    const cpp = mergeReports(reports);
    const sections: BenchDocument['sections'] = {};
    for (const name of SECTIONS) {
      if (!wanted(filter, name, '')) continue;
      progress.status(name);
      sections[name] = await sectionRows(name, quick);
    }
    progress.finish();

    const doc: BenchDocument = {
      schema: 1,
      date: started.toISOString(),
      options: {
        quick,
        filter: filter ?? null,
        baselines,
        isaSweep,
        timeMs: timeMs ?? null,
        probeMib: probeMib ?? null,
        cold,
      },
      machine: machineInfo(cpp?.machine ?? null),
      probe: cpp?.probe ?? null,
      memoryMode: runMemoryMode(cpp?.probe.samples ?? []),
      results: mergeResults(ts, cpp),
      callOverhead: callOverheads(ts, cpp),
      isaSweep: isaVariants(cpp),
      sections,
      checksum: checksum + (cpp?.results.reduce((s, r) => s + r.checksum, 0) ?? 0),
      raw: { ts, cpp: cpp?.results ?? [] },
    };
    if (values.json) {
      const dir = resolve(values.out ?? join(packageRoot, 'bench', 'results'));
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${doc.date.slice(0, 10)}.json`);
      writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
      console.error(`dpfl bench: wrote ${file}`);
      console.log(JSON.stringify(doc));
    } else {
      console.log(renderText(doc));
    }
    return exitCode;
  },
};
