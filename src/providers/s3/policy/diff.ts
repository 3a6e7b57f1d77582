// The readable difference between the live and the planned bucket policy: a unified diff of
// their canonical JSON, so only changes IAM would notice show up. Pure.

import { unifiedDiff } from '../../../plan/text-diff.js';
import { canonicalizePolicy } from './canonical.js';
import type { IamPolicy } from './types.js';

export interface PolicyDiff {
  changed: boolean;
  /** `--- live` / `+++ planned` then hunks; empty when unchanged. */
  text: string;
}

/** `null` stands for "no bucket policy" on either side. */
export function diffPolicy(live: IamPolicy | null, merged: IamPolicy | null, context = 3): PolicyDiff {
  const before = policyLines(live);
  const after = policyLines(merged);
  const hunks = unifiedDiff(before, after, context);
  if (hunks.length === 0) return { changed: false, text: '' };
  const header = [
    live === null ? '--- live (no policy)' : '--- live',
    merged === null ? '+++ planned (no policy)' : '+++ planned',
  ];
  return { changed: true, text: [...header, ...hunks].join('\n') };
}

/** The canonical policy as indented JSON lines; none for a missing policy. */
export function policyLines(policy: IamPolicy | null): string[] {
  return policy === null ? [] : JSON.stringify(canonicalizePolicy(policy), null, 2).split('\n');
}
