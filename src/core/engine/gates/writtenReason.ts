// The rule lives in base, so the plan schema checks a reason written in the plan by the same rule.
export { MIN_REASON_CHARS, REASON_RULE, writtenReason } from '../../base/reasonText';
