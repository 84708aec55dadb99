import type { ApprovalPolicy } from './runbooks.ts';

/** Which rule refused an approval: the reason says it to the person, the rule says it to the code. */
export type ApprovalRule = 'no_approvers' | 'four_eyes' | 'not_an_approver' | 'duplicate';

export type ApprovalDecision = { accepted: true } | { accepted: false; rule: ApprovalRule; reason: string };

export interface ApprovalClick {
  readonly requester: string;
  readonly approver: string;
  /** Whether the approver may approve under the policy (see `mayApproveUnder`); group membership is looked up by the caller. */
  readonly isApprover: boolean;
  /** Who has approved this run so far. */
  readonly alreadyApproved: readonly string[];
}

/** Whether a click on Approve counts: the approver list, the four-eyes rule, one approval per person. */
export function judgeApproval(policy: ApprovalPolicy, { requester, approver, isApprover, alreadyApproved }: ApprovalClick): ApprovalDecision {
  // Defence in depth: the config loader disables such a runbook, but no caller should ever count an approval
  // for a policy that names nobody.
  if (policy.approvers.length === 0 && !policy.anyone) {
    return {
      accepted: false,
      rule: 'no_approvers',
      reason: 'this runbook names no approvers, so nobody may approve it (an admin adds `approval: { approvers: [...] }` to the config)',
    };
  }
  if (approver === requester && !policy.allowSelf) {
    return { accepted: false, rule: 'four_eyes', reason: 'you requested this run, and it needs someone else to approve it (four-eyes rule)' };
  }
  if (!isApprover) return { accepted: false, rule: 'not_an_approver', reason: 'you are not one of its approvers' };
  if (alreadyApproved.includes(approver)) return { accepted: false, rule: 'duplicate', reason: 'you have approved it already' };
  return { accepted: true };
}

/**
 * Whether someone may act as an approver: anyone, when the config says `anyone` in so many words; otherwise
 * someone the list names (`listed`: the caller's look-up of user ids and groups). A list that names nobody
 * allows nobody.
 */
export function mayApproveUnder(policy: ApprovalPolicy, listed: boolean): boolean {
  if (policy.anyone) return true;
  return policy.approvers.length > 0 && listed;
}

/** Whether the approvals given so far meet the policy: as many different people as it requires. */
export function approvalsSuffice(policy: Pick<ApprovalPolicy, 'required'>, approvers: readonly string[]): boolean {
  return new Set(approvers).size >= policy.required;
}
