// Moved to src/errors.ts (shared by every layer); kept so in-flight imports resolve.
export * from '../errors.js';
