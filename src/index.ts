// wharf as a library: everything the CLI does is a function here. Importing it registers the
// engines (src/engines.ts) the core looks up.
import './engines.js';

export {
  type ApplyOptions,
  ApplyRefused,
  type ApplyResult,
  applyPlan,
  type ChangeResult,
} from './apply/apply.js';
export { type InspectResult, inspectConfig } from './commands/inspect.js';
export { type PlanRun, planConfig } from './commands/plan.js';
export { readPlanFile } from './commands/plan-file.js';
export { loadConfigFile, loadConfigText } from './config/load.js';
export { toDesired } from './config/to-desired.js';
export type { LoadedConfig, WharfConfig } from './config/types.js';
export { buildPlan } from './plan/build.js';
export { diff } from './plan/diff.js';
export type { Action, Change, Diagnostic, Plan, Statement } from './plan/plan.js';
export { PLAN_FORMAT, PLAN_VERSION } from './plan/plan.js';
export { AwsError, type AwsErrorKind } from './providers/aws-errors.js';
export { openConnection } from './providers/connect.js';
export { acquireLocalServer } from './providers/local/local-server.js';
export { LocalBucketProvider } from './providers/local-bucket/local-bucket-provider.js';
export { diffBuckets } from './providers/s3/bucket-diff.js';
export type { BucketResource } from './providers/s3/bucket-model.js';
export { S3Provider } from './providers/s3/s3-provider.js';
export { readS3Buckets, type S3Like } from './providers/s3/s3-reader.js';
export { renderPlanMarkdown } from './render/markdown.js';
export { renderPlanText } from './render/text.js';
