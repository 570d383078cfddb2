// The package stage (src/package/package-plan.ts): per function the rendered Dockerfile, the build
// context and its content tag.
export {
  FUNCTION_DIR,
  TEMPLATE_DIR,
  imageReference,
  packageFunction,
  packagePlan,
  writeBuildContext,
  type PackagedFunction,
  type PackagedPlanEntry,
} from './package-plan.js';
