-- Approvals asked for by any caller (an MCP client as well as the agents), executed once.
alter table approvals
    add column requested_by text,
    add column executed_at timestamptz,
    add column outcome jsonb,
    add constraint approval_executed_once check (
        executed_at is null or status in ('APPROVED', 'EDITED'));
comment on column approvals.requested_by is
    'the user the guarded call was made for: the approved call runs as this user';
comment on column approvals.executed_at is
    'when the approved call was run (once); null while it has not been';
comment on column approvals.outcome is
    'what the approved call did: {"ok": true, "result": ...} or {"ok": false, "error": ...}';
comment on constraint approval_executed_once on approvals is
    'only an approved (or edited) request is executed';
