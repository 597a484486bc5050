// What the loaded native core is and how it runs.
import { binding, type NativeInfo } from '../native/binding.js';

export type DpflInfo = NativeInfo;

/** The backend, instruction set and thread count of the loaded native core. */
export function info(): DpflInfo {
  return binding.info();
}
