// Frees the previous shape's multi-gigabyte buffers before the next shape allocates its own:
// V8 frees ArrayBuffers only on GC, so without this two 4 GB matrices could be alive at once.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

export function freeMemory(): void {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    } catch {
      collect = () => {};
    }
  }
  collect();
}
