-- Communications and governance: what notifications were about, who gets a role's messages,
-- the indexes that trace an order or a batch, and a description of every table for the catalog.

-- ───────────────────────── notifications: the event and template they came from ─────────────────────────

alter table notifications
    add column if not exists event_type      text,
    add column if not exists template        text,
    add column if not exists source_event_id bigint,
    add column if not exists read_at         timestamptz,
    add column if not exists failure_reason  text;

alter table notifications
    add constraint notification_sent_has_time
        check (status not in ('SENT', 'READ') or sent_at is not null),
    add constraint notification_read_has_time check ((status = 'READ') = (read_at is not null)),
    add constraint notification_failed_has_reason
        check (status <> 'FAILED' or failure_reason is not null);
comment on constraint notification_sent_has_time on notifications is
    'a sent or read notification needs the time it was sent';
comment on constraint notification_read_has_time on notifications is
    'a read notification, and only a read one, has the time it was read';
comment on constraint notification_failed_has_reason on notifications is
    'a failed notification needs the reason it failed';

create index if not exists notifications_by_recipient on notifications (recipient, created_at);
create index if not exists notifications_by_entity on notifications (entity_type, entity_id);
create index if not exists notifications_by_event_type on notifications (event_type, created_at);
create index if not exists notifications_by_time on notifications (created_at);
create index if not exists notifications_by_source_event on notifications (source_event_id)
    where source_event_id is not null;

-- Who receives a staff role's messages (planner, plant_manager, maintenance_lead, ...), on which
-- channel; optionally only for one facility. A role with no entry here falls back to the users
-- holding the matching user role, then to the role's shared in-app inbox.
create table notification_roles (
    role        text not null
        constraint notification_role_name check (role in
            ('planner', 'plant_manager', 'maintenance_lead', 'quality_manager',
             'logistics_coordinator', 'purchasing', 'customer_service')),
    channel     text not null
        constraint notification_role_channel check (channel in ('EMAIL', 'SMS', 'SLACK', 'IN_APP')),
    address     text not null
        constraint notification_role_address check (length(address) between 1 and 200),
    user_id     text references users on delete cascade,
    -- no foreign key: the directory outlives a plant reset, which empties facilities
    facility_id text
        constraint notification_role_facility check (facility_id ~ '^[A-Z]{3}$'),
    primary key (role, channel, address)
);
comment on constraint notification_role_name on notification_roles is
    'role is one of planner, plant_manager, maintenance_lead, quality_manager, '
    'logistics_coordinator, purchasing, customer_service';
comment on constraint notification_role_channel on notification_roles is
    'channel is one of EMAIL, SMS, SLACK, IN_APP';
comment on constraint notification_role_facility on notification_roles is
    'a facility ID is three capital letters, such as PHX or MUC';

-- ───────────────────────── inquiries ─────────────────────────

create index if not exists customer_inquiries_by_customer
    on customer_inquiries (customer_id, status, received_at);
create index if not exists customer_inquiries_by_order on customer_inquiries (order_id)
    where order_id is not null;

-- ───────────────────────── traceability ─────────────────────────

create index if not exists batch_usage_by_order on batch_usage (order_id, line_no);
create index if not exists batch_usage_by_machine on batch_usage (machine_id);
create index if not exists batch_certificates_by_batch on batch_certificates (batch_id);
create index if not exists material_batches_by_supplier on material_batches (supplier_id);
create index if not exists material_batches_by_heat on material_batches (heat_number);
create index if not exists stock_movements_by_reference
    on stock_movements (reference_id, reference_type);
create index if not exists stock_movements_by_batch on stock_movements (batch_id)
    where batch_id is not null;
create index if not exists schedule_slots_by_order on schedule_slots (order_id, line_no);
create index if not exists purchase_orders_by_supplier on purchase_orders (supplier_id, ordered_at);
create index if not exists audit_log_by_time on audit_log (at);
create index if not exists event_log_by_order_payload on event_log ((payload ->> 'order_id'))
    where payload ? 'order_id';
create index if not exists approvals_by_order_argument on approvals ((arguments ->> 'order_id'))
    where arguments ? 'order_id';

-- ───────────────────────── the data catalog: what each table holds ─────────────────────────

comment on table facilities is 'Titan''s plants (PHX, MUC, DET): where they are and their time zone.';
comment on table shift_calendars is 'A facility''s working-week calendar, which work centers follow.';
comment on table shifts is 'The shifts of a calendar: weekday, start time and length.';
comment on table shift_breaks is 'Breaks inside a shift, as an offset from its start and a length.';
comment on table calendar_exceptions is
    'Holidays, shutdowns and overtime that override a calendar''s normal week.';
comment on table work_centers is
    'Groups of like machines in a facility (milling, turning, grinding, heat treatment, '
    'inspection, assembly).';
comment on table machine_models is 'Machine makes and models, with rated power and spindle speed.';
comment on table equipment is
    'Every machine: where it stands, its model, status, efficiency, hours and last heartbeat.';
comment on table divisions is 'Business divisions (AERO, MOBILITY, SPARES) that products belong to.';
comment on table products is
    'Everything Titan makes, stocks or buys, by SKU: price, weight, and whether it needs '
    'certification.';
comment on table routings is 'The operations that make a product, in order, with setup and run times.';
comment on table customers is
    'Customers and their contract terms: priority, rush allowance, payment terms, contract end, '
    'contact.';
comment on table customer_divisions is 'Which divisions'' products each customer may buy.';
comment on table customer_compliance is
    'The compliance standards a customer''s contract requires (AS9100, FAA 8130-3, ITAR, ...).';
comment on table suppliers is 'Suppliers of materials and spares, their reliability and status.';
comment on table supplier_items is 'What each supplier sells: price, lead time, minimum order quantity.';
comment on table orders is 'Customer orders and where each stands in its lifecycle.';
comment on table order_lines is 'The SKUs, quantities and prices of each order, and how many shipped.';
comment on table order_events is 'Every status change of every order: from, to, when, by whom.';
comment on table stock_levels is
    'Stock on hand and reserved per SKU and facility, with its reorder point and quantity.';
comment on table material_batches is
    'Received heats of raw material and finished lots: supplier, heat number, quantity.';
comment on table batch_certificates is
    'Certificates of a batch (mill certificates, material tests, FAA 8130-3 release tags), '
    'with their validity.';
comment on table stock_movements is
    'The stock ledger: every receipt, shipment, consumption and adjustment; it sums to on-hand.';
comment on table stock_reservations is 'Stock held for order lines, per facility, until shipped or released.';
comment on table batch_usage is
    'Which material batches went into which order lines, on which machine and when.';
comment on table purchase_orders is 'Orders placed with suppliers, their status and expected arrival.';
comment on table carriers is 'Freight carriers and their on-time reliability.';
comment on table shipping_rates is
    'Carrier rates by origin, destination region, service level and weight band.';
comment on table shipments is 'Shipments of orders: carrier, tracking number, status, ETA.';
comment on table shipment_lines is 'Which order lines, and how many units, each shipment carries.';
comment on table shipment_events is 'Tracking events of shipments: status, location, time, note.';
comment on table sensor_thresholds is
    'Warning and critical limits per sensor, as a default or for one machine.';
comment on table sensor_readings is 'Time series of machine sensor readings.';
comment on table anomalies is 'Anomalies detected in sensor data, their severity and status.';
comment on table failure_predictions is
    'Predicted failures of machines: mode, probability, expected time, evidence.';
comment on table work_orders is 'Maintenance work orders on machines, their schedule and status.';
comment on table spare_part_compatibility is
    'Spare parts that fix a fault type on a machine model, and how many are needed.';
comment on table production_counters is
    'Parts produced and defective, planned and run minutes, per machine and shift.';
comment on table schedules is 'Production schedules: proposed, applied, superseded or rejected.';
comment on table schedule_slots is 'The operations of a schedule: order line, machine, start and end.';
comment on table notifications is
    'Messages sent to customers and staff: recipient, channel, content, delivery status, and the '
    'event and template they came from.';
comment on table customer_inquiries is
    'Customer questions (status, expedite, quality, other), answers, and their status.';
comment on table event_log is 'Every event in the plant, in order; it feeds the live stream and reactors.';
comment on table users is 'People who use Titan, with their role.';
comment on table api_keys is 'API keys of users (digests only), with role and revocation.';
comment on table approvals is
    'Risky actions awaiting or given a human decision: what, why, who decided, when.';
comment on table audit_log is
    'Who changed what and when: actor, action, entity, before and after, thread and approval.';
comment on table idempotency_keys is 'Keys of writes already done, with their results, so repeats do nothing.';
comment on table schema_migrations is 'The schema migrations applied to this database.';
comment on table notification_roles is
    'Who receives a staff role''s notifications, on which channel, optionally per facility.';

comment on column notifications.event_type is 'The event type the notification was rendered for.';
comment on column notifications.template is 'The template it was rendered from.';
comment on column notifications.source_event_id is 'The event_log row that caused it, if any.';
comment on column stock_movements.reference_type is
    'What the movement belongs to (order, shipment, purchase_order, work_order, ...).';
comment on column audit_log.before is 'The entity''s relevant fields before the change.';
comment on column audit_log.after is 'The entity''s relevant fields after the change.';
comment on column event_log.source is 'Who caused the event: user, agent, simulator, reactor, ingest, system.';
