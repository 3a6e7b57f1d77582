// AWS credentials per connection (`redshift` and `s3`): an optional `profile` (a named profile
// of the shared config and credentials files) and an optional `roleArn` to assume (with
// `externalId` and `sessionName`), resolved by the SDK's own providers: `fromIni` for the
// profile, `fromTemporaryCredentials` (STS AssumeRole) for the role, on top of the profile or of
// the default chain. Without either, the clients keep the default chain. The keys obtained are
// registered as secrets, so that no output can show them.
import { registerSecret } from '../config/secrets.js';
import type { ConnectionConfig } from '../config/types.js';

export interface AwsIdentityOptions {
  /** What the SDK clients of the connection are given: `profile` (for the region too) and `credentials`. */
  profile?: string;
  credentials?: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
}

/** The session name when the file names none (STS requires one; it shows in CloudTrail). */
export const DEFAULT_SESSION_NAME = 'wharf';

export async function awsIdentity(
  config: ConnectionConfig,
  region: string | undefined,
): Promise<AwsIdentityOptions> {
  if (!config.profile && !config.roleArn) return {};
  const { fromIni, fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
  const base = config.profile ? fromIni({ profile: config.profile }) : undefined;
  const provider = config.roleArn
    ? fromTemporaryCredentials({
        params: {
          RoleArn: config.roleArn,
          RoleSessionName: config.sessionName ?? DEFAULT_SESSION_NAME,
          ...(config.externalId ? { ExternalId: config.externalId } : {}),
        },
        ...(base ? { masterCredentials: base } : {}),
        clientConfig: {
          ...(region ? { region } : {}),
          ...(config.profile ? { profile: config.profile } : {}),
        },
      })
    : base!;
  return {
    ...(config.profile ? { profile: config.profile } : {}),
    credentials: async () => {
      const c = await provider();
      registerSecret(c.secretAccessKey);
      registerSecret(c.sessionToken);
      return c;
    },
  };
}
