// Configures, builds and runs the C++ tests (CMake + ctest) in build-cmake/.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const jobs = String(Math.max(1, availableParallelism()));
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

run('cmake', ['-S', '.', '-B', 'build-cmake', '-DCMAKE_BUILD_TYPE=Release']);
run('cmake', ['--build', 'build-cmake', '-j', jobs]);
run('ctest', ['--test-dir', 'build-cmake', '--output-on-failure', '--output-junit', 'ctest-junit.xml', '-j', jobs]);
