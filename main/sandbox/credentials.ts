/** The sandbox ReGate tenant's Basic credentials (specs/regate.md), printed at start. */
export const SANDBOX_REGATE_USER = 'richest';
export const SANDBOX_REGATE_PASSWORD = 'sandbox';
