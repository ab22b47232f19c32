-- Who decides an approval request is a permission (tools/accounts/permissions.py), and a
-- request whose entity moved on is withdrawn.
alter table approvals add column permission text;
update approvals set permission = case
    when required_role in ('production_manager', 'admin') then 'spend.approve'
    else 'ai.approve' end;
alter table approvals alter column permission set not null,
    alter column permission set default 'ai.approve';
comment on column approvals.permission is
    'the permission deciding the request needs: exactly the roles holding it may decide';

alter table approvals drop constraint approval_status;
alter table approvals add constraint approval_status check (status in
    ('PENDING', 'APPROVED', 'REJECTED', 'EDITED', 'EXPIRED', 'WITHDRAWN'));

-- A reset wipes the plant, its events and its audit trail; this record of it stays.
create table plant_resets (
    reset_id     text primary key,
    reset_at     timestamptz not null,
    requested_by text not null,
    seed         integer not null,
    wiped        jsonb not null default '{}',
    last_event_id bigint,
    last_audit_id bigint,
    recorded_at  timestamptz not null default clock_timestamp()  -- orders resets at one plant time
);
comment on table plant_resets is
    'every reset of the plant: who, when, the seed, and the rows it wiped per table (kept by resets)';

-- Who started each conversation: others read or continue it only with thread.view_all.
create table thread_owners (
    thread_id  text primary key,
    user_id    text not null,
    started_at timestamptz not null
);
comment on table thread_owners is
    'the user who started each agent thread (titan-events for the runs events start)';
