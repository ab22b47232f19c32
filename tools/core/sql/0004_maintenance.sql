-- Maintenance: spare parts held for work orders, why a work order was cancelled or how it was
-- resolved, and what an anomaly was detected from.

-- Spare parts a work order needs, reserved from the stock of the machine's facility when the
-- work order is created or scheduled and consumed when it is completed (released on cancel).
create table work_order_parts (
    work_order_id text not null references work_orders on delete cascade,
    sku           text not null references products,
    facility_id   text not null references facilities,
    part_role     text not null default '',
    quantity      integer not null
        constraint work_order_part_quantity_positive check (quantity > 0),
    reserved      integer not null default 0,
    consumed      integer not null default 0,
    status        text not null default 'PENDING'
        constraint work_order_part_status check (status in
            ('PENDING', 'RESERVED', 'CONSUMED', 'RELEASED')),
    primary key (work_order_id, sku),
    constraint work_order_part_reserved_range check (reserved between 0 and quantity),
    constraint work_order_part_consumed_range check (consumed between 0 and quantity)
);
comment on constraint work_order_part_quantity_positive on work_order_parts is
    'a work order needs at least one of each spare part it lists';
comment on constraint work_order_part_status on work_order_parts is
    'a work order part is PENDING, RESERVED, CONSUMED or RELEASED';
comment on constraint work_order_part_reserved_range on work_order_parts is
    'a work order reserves between none and all of the quantity it needs';
comment on constraint work_order_part_consumed_range on work_order_parts is
    'a work order consumes between none and all of the quantity it needs';
create index work_order_parts_stock on work_order_parts (sku, facility_id) where reserved > 0;

alter table work_orders add column cancel_reason text;
alter table work_orders add column resolution text;
alter table work_orders add constraint work_order_cancel_has_reason
    check (status <> 'CANCELLED' or cancel_reason is not null);
comment on constraint work_order_cancel_has_reason on work_orders is
    'a cancelled work order needs a cancellation reason';

-- What an anomaly was found from (zone, window, slope, ...), for people and for the reactors.
alter table anomalies add column details jsonb not null default '{}';
-- Detection is re-run over overlapping windows: the same finding is written once.
create unique index anomalies_once on anomalies (machine_id, sensor, kind, severity, detected_at);
create index anomalies_unresolved on anomalies (machine_id, sensor, kind)
    where status <> 'RESOLVED';
