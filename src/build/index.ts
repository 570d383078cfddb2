// The build stage (src/build/build-images.ts): images built and pushed by kaniko in the runner or
// a Tekton TaskRun, skipped when the registry has the content tag already.
export type { BuildRequest, BuildResult, Builder } from './types.js';
export type { BuildLog } from './log.js';
export type { StepLogReader } from './tekton.js';
export { RegistryClient, RegistryError } from './registry.js';
export { KanikoBuilder } from './kaniko.js';
export { TektonBuilder, TektonNotInstalledError } from './tekton.js';
export { RUN_LABEL } from './types.js';

export {
  buildImages,
  createBuilder,
  registryCredentials,
  type BuildSettings,
  type BuildStageOptions,
} from './build-images.js';
