// Device memory for the CUDA backend: a DeviceArray holds float32 data on the GPU so a whole DP
// step (clip → sum → noise) runs without a round trip to the host. The backend library is loaded
// on first use; when it cannot be (no library, driver or device), cudaInfo() says why and creating
// a DeviceArray throws an error with code ERR_DPFL_CUDA_UNAVAILABLE.
import { binding, type NativeDeviceArray } from '../native/binding.js';
import { invalidArgument } from '../errors.js';
import { float32Array, nonNegativeInteger } from '../validate.js';

export interface CudaInfo {
  available: boolean;
  /** The GPU's name, when available. */
  device?: string;
  /** The libdpfl_cuda path that loaded. */
  library?: string;
  /** Why the backend is unavailable. */
  reason?: string;
}

/** Whether the CUDA backend can run here, and if not, why. */
export function cudaInfo(): CudaInfo {
  return binding.cudaInfo();
}

/** A float32 array in GPU memory. Freed by free() or, failing that, when garbage-collected. */
export class DeviceArray {
  /** @internal */
  readonly native: NativeDeviceArray;

  constructor(length: number) {
    this.native = new binding.DeviceArray(nonNegativeInteger('length', length));
  }

  /** A new DeviceArray holding a copy of host data. */
  static from(source: Float32Array): DeviceArray {
    const src = float32Array('source', source, false);
    return new DeviceArray(src.length).upload(src);
  }

  get length(): number {
    return this.native.length;
  }

  get freed(): boolean {
    return this.native.freed;
  }

  /** Copies host data (of the same length) to the device. */
  upload(source: Float32Array): this {
    const src = float32Array('source', source, false);
    if (src.length !== this.length)
      throw invalidArgument('source.length', `the DeviceArray's length (${this.length})`, src.length);
    this.native.upload(src);
    return this;
  }

  /** Copies the device data to out (or a new Float32Array) and returns it. */
  download(out?: Float32Array): Float32Array {
    const dst = out === undefined ? new Float32Array(this.length) : float32Array('out', out, false);
    if (dst.length !== this.length)
      throw invalidArgument('out.length', `the DeviceArray's length (${this.length})`, dst.length);
    return this.native.download(dst);
  }

  /** Releases the device memory now; later use of this array is an error. */
  free(): void {
    this.native.free();
  }
}
