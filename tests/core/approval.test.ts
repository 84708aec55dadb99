import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approvalsSuffice, judgeApproval, mayApproveUnder } from '../../core/approval.ts';
import type { ApprovalPolicy } from '../../core/runbooks.ts';

const userArb = fc.stringMatching(/^U[0-9A-Z]{2,6}$/);
const policyArb: fc.Arbitrary<ApprovalPolicy> = fc.record({
  approvers: fc.array(fc.oneof(userArb, fc.constantFrom('S0OPS', '@ops-leads')), { maxLength: 4 }),
  anyone: fc.boolean(),
  required: fc.integer({ min: 1, max: 4 }),
  allowSelf: fc.boolean(),
  expiresSeconds: fc.constant(1800),
});
const clickArb = fc.record({
  requester: userArb,
  approver: userArb,
  isApprover: fc.boolean(),
  alreadyApproved: fc.uniqueArray(userArb, { maxLength: 4 }),
});

describe('judgeApproval: whether a click on Approve counts', () => {
  it('never counts an approval under a policy that names nobody, whatever the caller says', () => {
    fc.assert(
      fc.property(policyArb, clickArb, (policy, click) => {
        const decision = judgeApproval({ ...policy, approvers: [], anyone: false }, click);
        expect(decision).toMatchObject({ accepted: false, rule: 'no_approvers' });
      }),
    );
  });

  it("never counts the requester's own approval unless the policy allows self-approval (four eyes)", () => {
    fc.assert(
      fc.property(policyArb, clickArb, (policy, click) => {
        const decision = judgeApproval({ ...policy, anyone: true }, { ...click, approver: click.requester, isApprover: true, alreadyApproved: [] });
        expect(decision.accepted).toBe(policy.allowSelf);
        if (!decision.accepted) expect(decision.rule).toBe('four_eyes');
      }),
    );
  });

  it('counts only an approver, and each approver once', () => {
    fc.assert(
      fc.property(policyArb, clickArb, (policy, click) => {
        fc.pre(click.approver !== click.requester && (policy.anyone || policy.approvers.length > 0));
        const decision = judgeApproval(policy, click);
        const expected = !click.isApprover ? 'not_an_approver' : click.alreadyApproved.includes(click.approver) ? 'duplicate' : null;
        expect(decision.accepted ? null : decision.rule).toBe(expected);
      }),
    );
    expect(
      judgeApproval(
        { approvers: ['U1'], anyone: false, required: 1, allowSelf: false, expiresSeconds: 60 },
        { requester: 'U0', approver: 'U1', isApprover: true, alreadyApproved: ['U1'] },
      ),
    ).toEqual({
      accepted: false,
      rule: 'duplicate',
      reason: 'you have approved it already',
    });
  });

  it('accepts exactly when no rule refuses: a listed approver, not the requester (or self allowed), not yet counted', () => {
    fc.assert(
      fc.property(policyArb, clickArb, (policy, click) => {
        const named = policy.anyone || policy.approvers.length > 0;
        const selfOk = click.approver !== click.requester || policy.allowSelf;
        const expected = named && selfOk && click.isApprover && !click.alreadyApproved.includes(click.approver);
        expect(judgeApproval(policy, click).accepted).toBe(expected);
      }),
    );
  });
});

describe('who may approve under a policy', () => {
  it('anyone under `anyone`; otherwise only someone the list names; nobody under an empty list', () => {
    fc.assert(
      fc.property(policyArb, fc.boolean(), (policy, listed) => {
        expect(mayApproveUnder(policy, listed)).toBe(policy.anyone || (policy.approvers.length > 0 && listed));
      }),
    );
    expect(mayApproveUnder({ approvers: [], anyone: false, required: 1, allowSelf: false, expiresSeconds: 60 }, true)).toBe(false);
    expect(mayApproveUnder({ approvers: [], anyone: true, required: 1, allowSelf: false, expiresSeconds: 60 }, false)).toBe(true);
  });
});

describe('the count of approvals', () => {
  it('suffices once as many different people as required have approved', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.constantFrom('U1', 'U2', 'U3', 'U4', 'U5', 'U6'), { maxLength: 8 }), (required, approvers) => {
        expect(approvalsSuffice({ required }, approvers)).toBe(new Set(approvers).size >= required);
      }),
    );
    expect(approvalsSuffice({ required: 2 }, ['U1'])).toBe(false);
    expect(approvalsSuffice({ required: 2 }, ['U1', 'U1'])).toBe(false);
    expect(approvalsSuffice({ required: 2 }, ['U1', 'U2'])).toBe(true);
  });
});
