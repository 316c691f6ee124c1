// Which role may make which write: the table of docs/api.md, so the console shows a button only
// to those the server will accept it from. The server decides; this only hides what would be
// refused.
export const WRITES = {
  report_kill: ["duty_officer", "admin"],
  withdraw_kill: ["duty_officer", "admin"],
  ack_threat: ["duty_officer", "admin"],
  crew_override: ["dispatcher", "duty_officer", "admin"],
  crew_recall: ["dispatcher", "duty_officer", "admin"],
  approve_statement: ["approver"],
  reject_statement: ["approver"],
  edit_statement: ["press_officer", "approver"],
  add_claim: ["press_officer", "duty_officer", "admin"],
  exercise: ["duty_officer", "admin"],
};

export const ROLES = ["viewer", "duty_officer", "dispatcher", "press_officer", "approver", "admin"];

export function may(role, write) {
  const allowed = WRITES[write];
  if (!allowed) throw new Error(`unknown write ${write}`);
  return allowed.includes(role);
}
