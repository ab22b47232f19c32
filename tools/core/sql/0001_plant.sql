-- Titan's plant model. Constraints that belong to the data live here; each carries a comment
-- (COMMENT ON CONSTRAINT) that Titan shows a user whose input breaks it.

-- ───────────────────────── sites, work centers, machines, calendars ─────────────────────────

create table facilities (
    facility_id text primary key
        constraint facility_id_format check (facility_id ~ '^[A-Z]{3}$'),
    name        text not null,
    city        text not null,
    country     text not null,
    region      text not null,
    timezone    text not null
);
comment on constraint facility_id_format on facilities is
    'a facility ID is three capital letters, such as PHX or MUC';

create table shift_calendars (
    calendar_id text primary key,
    facility_id text not null references facilities,
    name        text not null,
    unique (facility_id, name)
);

create table shifts (
    shift_id         serial primary key,
    calendar_id      text not null references shift_calendars on delete cascade,
    name             text not null,
    day_of_week      smallint not null
        constraint shift_day_of_week check (day_of_week between 1 and 7),
    start_time       time not null,
    duration_minutes integer not null
        constraint shift_duration_range check (duration_minutes between 60 and 720),
    unique (calendar_id, day_of_week, name)
);
comment on constraint shift_day_of_week on shifts is
    'day_of_week is an ISO weekday, 1 (Monday) to 7 (Sunday)';
comment on constraint shift_duration_range on shifts is
    'a shift lasts between 60 and 720 minutes';

create table shift_breaks (
    shift_id         integer not null references shifts on delete cascade,
    offset_minutes   integer not null,
    duration_minutes integer not null
        constraint break_duration_positive check (duration_minutes > 0),
    primary key (shift_id, offset_minutes),
    constraint break_offset_non_negative check (offset_minutes >= 0)
);
comment on constraint break_duration_positive on shift_breaks is
    'a break lasts at least one minute';

create table calendar_exceptions (
    exception_id serial primary key,
    calendar_id  text not null references shift_calendars on delete cascade,
    kind         text not null
        constraint calendar_exception_kind check (kind in ('HOLIDAY', 'SHUTDOWN', 'OVERTIME')),
    starts_at    timestamptz not null,
    ends_at      timestamptz not null,
    description  text not null default '',
    constraint calendar_exception_order check (ends_at > starts_at)
);
comment on constraint calendar_exception_kind on calendar_exceptions is
    'kind is HOLIDAY or SHUTDOWN (no work) or OVERTIME (extra working time)';
comment on constraint calendar_exception_order on calendar_exceptions is
    'an exception must end after it starts';

create table work_centers (
    work_center_id text primary key,
    facility_id    text not null references facilities,
    name           text not null,
    wc_type        text not null
        constraint work_center_type check (wc_type in
            ('CNC_MILL', 'CNC_LATHE', 'GRINDING', 'HEAT_TREAT', 'ASSEMBLY', 'INSPECTION')),
    calendar_id    text not null references shift_calendars,
    unique (facility_id, name),
    unique (work_center_id, facility_id)
);
comment on constraint work_center_type on work_centers is
    'wc_type is one of CNC_MILL, CNC_LATHE, GRINDING, HEAT_TREAT, ASSEMBLY, INSPECTION';

create table machine_models (
    model        text primary key,
    manufacturer text not null,
    wc_type      text not null
        constraint machine_model_wc_type check (wc_type in
            ('CNC_MILL', 'CNC_LATHE', 'GRINDING', 'HEAT_TREAT', 'ASSEMBLY', 'INSPECTION')),
    rated_power_kw numeric(7, 2) not null
        constraint machine_model_power_positive check (rated_power_kw > 0),
    max_spindle_rpm integer
        constraint machine_model_rpm_positive check (max_spindle_rpm is null or max_spindle_rpm > 0)
);

create table equipment (
    machine_id          text primary key
        constraint machine_id_format check (machine_id ~ '^[A-Z]{3}-[A-Z]{2,5}-[0-9]{3}$'),
    facility_id         text not null references facilities,
    work_center_id      text not null,
    model               text not null references machine_models,
    name                text not null,
    status              text not null default 'IDLE'
        constraint machine_status check (status in
            ('RUNNING', 'IDLE', 'DOWN', 'MAINTENANCE', 'OFFLINE')),
    efficiency          numeric(4, 3) not null default 1.000
        constraint machine_efficiency_range check (efficiency > 0 and efficiency <= 2),
    installed_on        date not null,
    operating_hours     numeric(10, 1) not null default 0
        constraint machine_hours_non_negative check (operating_hours >= 0),
    status_changed_at   timestamptz not null default now(),
    last_heartbeat_at   timestamptz,
    last_maintenance_at timestamptz,
    constraint machine_in_its_facility foreign key (work_center_id, facility_id)
        references work_centers (work_center_id, facility_id)
);
comment on constraint machine_id_format on equipment is
    'a machine ID looks like PHX-CNC-007: facility, machine kind, three digits';
comment on constraint machine_status on equipment is
    'status is one of RUNNING, IDLE, DOWN, MAINTENANCE, OFFLINE';
comment on constraint machine_efficiency_range on equipment is
    'efficiency is a factor above 0 and at most 2 (1.0 is nominal speed)';
comment on constraint machine_in_its_facility on equipment is
    'a machine belongs to a work center of its own facility';
create index equipment_work_center on equipment (work_center_id);

-- ───────────────────────── products, routings, customers, suppliers ─────────────────────────

create table divisions (
    division_id text primary key,
    name        text not null
);

create table products (
    sku                    text primary key
        constraint sku_format check (sku ~ '^SKU-[A-Z0-9]+(-[A-Z0-9]+)*$'),
    name                   text not null,
    division_id            text not null references divisions,
    category               text not null
        constraint product_category check (category in
            ('TURBINE_BLADE', 'ENGINE_HOUSING', 'MOTOR_HOUSING', 'BATTERY_ENCLOSURE',
             'BEARING', 'SPINDLE', 'RAW_MATERIAL', 'SPARE_PART')),
    unit_price             numeric(12, 2) not null
        constraint product_price_non_negative check (unit_price >= 0),
    unit_weight_kg         numeric(10, 3) not null
        constraint product_weight_positive check (unit_weight_kg > 0),
    is_manufactured        boolean not null,
    requires_certification boolean not null default false
);
comment on constraint sku_format on products is
    'a SKU looks like SKU-TB-1001: SKU- then capital letters and digits in dash-separated parts';
comment on constraint product_price_non_negative on products is 'a unit price may not be negative';

create table routings (
    sku                  text not null references products on delete cascade,
    seq                  smallint not null
        constraint routing_seq_positive check (seq > 0),
    operation            text not null,
    wc_type              text not null
        constraint routing_wc_type check (wc_type in
            ('CNC_MILL', 'CNC_LATHE', 'GRINDING', 'HEAT_TREAT', 'ASSEMBLY', 'INSPECTION')),
    setup_minutes        integer not null
        constraint routing_setup_non_negative check (setup_minutes >= 0),
    run_minutes_per_unit numeric(8, 2) not null
        constraint routing_run_positive check (run_minutes_per_unit > 0),
    may_span_break       boolean not null default false,
    primary key (sku, seq)
);
comment on constraint routing_run_positive on routings is
    'run minutes per unit must be above zero';

create table customers (
    customer_id          text primary key
        constraint customer_id_format check (customer_id ~ '^[A-Z][A-Z0-9_]{1,31}$'),
    name                 text not null,
    region               text not null,
    priority             smallint not null
        constraint customer_priority_range check (priority between 1 and 5),
    rush_allowed         boolean not null default false,
    payment_terms_days   integer not null default 30
        constraint customer_terms_non_negative check (payment_terms_days >= 0),
    contract_valid_until date not null,
    contact_email        text not null
        constraint customer_email_format check (contact_email ~ '^[^@\s]+@[^@\s]+$')
);
comment on constraint customer_priority_range on customers is
    'priority runs from 1 (most important) to 5';

create table customer_divisions (
    customer_id text not null references customers on delete cascade,
    division_id text not null references divisions,
    primary key (customer_id, division_id)
);

create table customer_compliance (
    customer_id text not null references customers on delete cascade,
    requirement text not null
        constraint compliance_requirement check (requirement in
            ('AS9100', 'FAA_8130_3', 'ITAR', 'IATF16949', 'ISO9001', 'MATERIAL_CERT')),
    primary key (customer_id, requirement)
);
comment on constraint compliance_requirement on customer_compliance is
    'requirement is one of AS9100, FAA_8130_3, ITAR, IATF16949, ISO9001, MATERIAL_CERT';

create table suppliers (
    supplier_id   text primary key,
    name          text not null unique,
    country       text not null,
    region        text not null,
    reliability   numeric(3, 2) not null
        constraint supplier_reliability_range check (reliability between 0 and 1),
    status        text not null default 'ACTIVE'
        constraint supplier_status check (status in ('ACTIVE', 'ON_HOLD', 'BLOCKED')),
    contact_email text not null
);

create table supplier_items (
    supplier_id    text not null references suppliers on delete cascade,
    sku            text not null references products,
    unit_price     numeric(12, 2) not null
        constraint supplier_price_positive check (unit_price > 0),
    lead_time_days integer not null
        constraint supplier_lead_time_positive check (lead_time_days > 0),
    min_order_qty  integer not null default 1
        constraint supplier_moq_positive check (min_order_qty > 0),
    is_preferred   boolean not null default false,
    primary key (supplier_id, sku)
);
create unique index supplier_items_one_preferred on supplier_items (sku) where is_preferred;

-- ───────────────────────── orders ─────────────────────────

create sequence order_number start 10001;

create table orders (
    order_id      text primary key default ('ORD-' || nextval('order_number')),
    customer_id   text not null references customers,
    status        text not null default 'CREATED'
        constraint order_status check (status in
            ('CREATED', 'VALIDATED', 'RESERVED', 'IN_PRODUCTION', 'READY', 'SHIPPED',
             'DELIVERED', 'COMPLETED', 'ON_HOLD', 'CANCELLED')),
    priority      smallint not null default 3
        constraint order_priority_range check (priority between 1 and 5),
    is_rush       boolean not null default false,
    facility_id   text references facilities,
    ship_to_region text not null,
    due_at        timestamptz not null,
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    hold_reason   text,
    cancel_reason text,
    notes         text not null default '',
    constraint order_hold_has_reason check (status <> 'ON_HOLD' or hold_reason is not null),
    constraint order_cancel_has_reason check (status <> 'CANCELLED' or cancel_reason is not null)
);
comment on constraint order_status on orders is
    'status is one of CREATED, VALIDATED, RESERVED, IN_PRODUCTION, READY, SHIPPED, DELIVERED, '
    'COMPLETED, ON_HOLD, CANCELLED';
comment on constraint order_hold_has_reason on orders is 'an order on hold needs a hold reason';
comment on constraint order_cancel_has_reason on orders is
    'a cancelled order needs a cancellation reason';
create index orders_customer on orders (customer_id);
create index orders_status_due on orders (status, due_at);

create table order_lines (
    order_id         text not null references orders on delete cascade,
    line_no          smallint not null
        constraint order_line_no_positive check (line_no > 0),
    sku              text not null references products,
    quantity         integer not null
        constraint order_quantity_positive check (quantity > 0),
    unit_price       numeric(12, 2) not null
        constraint order_price_non_negative check (unit_price >= 0),
    quantity_shipped integer not null default 0,
    primary key (order_id, line_no),
    constraint order_line_shipped_range check (quantity_shipped between 0 and quantity)
);
comment on constraint order_quantity_positive on order_lines is
    'an order line''s quantity must be at least 1';
comment on constraint order_line_shipped_range on order_lines is
    'quantity shipped runs from 0 to the ordered quantity';
create index order_lines_sku on order_lines (sku);

create table order_events (
    order_event_id bigserial primary key,
    order_id       text not null references orders on delete cascade,
    from_status    text,
    to_status      text not null,
    at             timestamptz not null,
    actor          text not null,
    note           text not null default ''
);
create index order_events_order on order_events (order_id, at);

-- ───────────────────────── inventory ─────────────────────────

create table stock_levels (
    sku              text not null references products,
    facility_id      text not null references facilities,
    on_hand          integer not null
        constraint stock_on_hand_not_negative check (on_hand >= 0),
    reserved         integer not null default 0
        constraint stock_reserved_not_negative check (reserved >= 0),
    reorder_point    integer not null
        constraint stock_reorder_point_not_negative check (reorder_point >= 0),
    reorder_quantity integer not null
        constraint stock_reorder_quantity_positive check (reorder_quantity > 0),
    updated_at       timestamptz not null,
    primary key (sku, facility_id),
    constraint stock_reserved_within_on_hand check (reserved <= on_hand)
);
comment on constraint stock_on_hand_not_negative on stock_levels is
    'stock on hand may not go below zero';
comment on constraint stock_reserved_not_negative on stock_levels is
    'reserved stock may not go below zero';
comment on constraint stock_reserved_within_on_hand on stock_levels is
    'reserved stock may not exceed stock on hand';
comment on constraint stock_reorder_quantity_positive on stock_levels is
    'the reorder quantity must be at least 1';

create table material_batches (
    batch_id    text primary key,
    sku         text not null references products,
    supplier_id text not null references suppliers,
    facility_id text not null references facilities,
    heat_number text,
    quantity    integer not null
        constraint batch_quantity_positive check (quantity > 0),
    received_at timestamptz not null
);

create table batch_certificates (
    certificate_id text primary key,
    batch_id       text not null references material_batches on delete cascade,
    kind           text not null
        constraint certificate_kind check (kind in
            ('MILL_CERT', 'CERT_OF_CONFORMANCE', 'FAA_8130_3', 'MATERIAL_TEST')),
    issued_by      text not null,
    issued_on      date not null,
    valid_until    date,
    document_ref   text not null,
    constraint certificate_validity check (valid_until is null or valid_until >= issued_on)
);

create table stock_movements (
    movement_id    bigserial primary key,
    sku            text not null,
    facility_id    text not null,
    quantity       integer not null
        constraint movement_quantity_non_zero check (quantity <> 0),
    kind           text not null
        constraint movement_kind check (kind in
            ('RECEIPT', 'SHIPMENT', 'PRODUCTION', 'CONSUMPTION', 'ADJUSTMENT',
             'TRANSFER_IN', 'TRANSFER_OUT', 'SCRAP')),
    reference_type text,
    reference_id   text,
    batch_id       text references material_batches,
    at             timestamptz not null,
    actor          text not null,
    foreign key (sku, facility_id) references stock_levels (sku, facility_id)
);
create index stock_movements_sku on stock_movements (sku, facility_id, at);

create table stock_reservations (
    reservation_id bigserial primary key,
    order_id       text not null,
    line_no        smallint not null,
    sku            text not null,
    facility_id    text not null,
    quantity       integer not null
        constraint reservation_quantity_positive check (quantity > 0),
    status         text not null default 'RESERVED'
        constraint reservation_status check (status in ('RESERVED', 'COMMITTED', 'RELEASED')),
    created_at     timestamptz not null,
    updated_at     timestamptz not null,
    foreign key (order_id, line_no) references order_lines (order_id, line_no) on delete cascade,
    foreign key (sku, facility_id) references stock_levels (sku, facility_id)
);
comment on constraint reservation_status on stock_reservations is
    'a reservation is RESERVED, COMMITTED or RELEASED';
create index stock_reservations_order on stock_reservations (order_id);

create table batch_usage (
    batch_id  text not null references material_batches,
    order_id  text not null,
    line_no   smallint not null,
    quantity  integer not null
        constraint batch_usage_quantity_positive check (quantity > 0),
    machine_id text references equipment,
    used_at   timestamptz not null,
    primary key (batch_id, order_id, line_no),
    foreign key (order_id, line_no) references order_lines (order_id, line_no)
);

create sequence purchase_order_number start 5001;

create table purchase_orders (
    po_id        text primary key default ('PO-' || nextval('purchase_order_number')),
    supplier_id  text not null,
    sku          text not null,
    facility_id  text not null references facilities,
    quantity     integer not null
        constraint po_quantity_positive check (quantity > 0),
    unit_price   numeric(12, 2) not null
        constraint po_price_positive check (unit_price > 0),
    status       text not null default 'PENDING'
        constraint po_status check (status in
            ('PENDING', 'IN_TRANSIT', 'DELAYED', 'RECEIVED', 'CANCELLED')),
    ordered_at   timestamptz not null,
    expected_at  timestamptz not null,
    received_at  timestamptz,
    delay_reason text,
    constraint po_received_has_time check ((status = 'RECEIVED') = (received_at is not null)),
    constraint po_supplier_sells_sku foreign key (supplier_id, sku)
        references supplier_items (supplier_id, sku)
);
comment on constraint po_status on purchase_orders is
    'a purchase order is PENDING, IN_TRANSIT, DELAYED, RECEIVED or CANCELLED';
comment on constraint po_supplier_sells_sku on purchase_orders is
    'the supplier must list the SKU among its items';
comment on constraint po_quantity_positive on purchase_orders is
    'a purchase order quantity must be at least 1';
create index purchase_orders_status on purchase_orders (status, expected_at);

-- ───────────────────────── logistics ─────────────────────────

create table carriers (
    carrier_id text primary key,
    name       text not null unique,
    reliability numeric(3, 2) not null
        constraint carrier_reliability_range check (reliability between 0 and 1)
);

create table shipping_rates (
    rate_id            serial primary key,
    carrier_id         text not null references carriers on delete cascade,
    origin_region      text not null,
    destination_region text not null,
    service_level      text not null
        constraint rate_service_level check (service_level in
            ('GROUND', 'EXPRESS', 'OVERNIGHT', 'FREIGHT')),
    min_weight_kg      numeric(10, 2) not null
        constraint rate_min_weight_non_negative check (min_weight_kg >= 0),
    max_weight_kg      numeric(10, 2) not null,
    base_cost          numeric(10, 2) not null
        constraint rate_base_non_negative check (base_cost >= 0),
    cost_per_kg        numeric(10, 2) not null
        constraint rate_per_kg_non_negative check (cost_per_kg >= 0),
    transit_days       integer not null
        constraint rate_transit_positive check (transit_days > 0),
    constraint rate_weight_band check (max_weight_kg > min_weight_kg),
    unique (carrier_id, origin_region, destination_region, service_level, min_weight_kg)
);
comment on constraint rate_weight_band on shipping_rates is
    'a weight band''s upper bound must be above its lower bound';

create sequence shipment_number start 7001;

create table shipments (
    shipment_id        text primary key default ('SHP-' || nextval('shipment_number')),
    order_id           text not null references orders,
    carrier_id         text not null references carriers,
    origin_facility_id text not null references facilities,
    destination_region text not null,
    service_level      text not null
        constraint shipment_service_level check (service_level in
            ('GROUND', 'EXPRESS', 'OVERNIGHT', 'FREIGHT')),
    status             text not null default 'CREATED'
        constraint shipment_status check (status in
            ('CREATED', 'LABEL_PRINTED', 'PICKED_UP', 'IN_TRANSIT', 'DELAYED',
             'OUT_FOR_DELIVERY', 'DELIVERED', 'EXCEPTION', 'CANCELLED')),
    tracking_number    text unique,
    weight_kg          numeric(10, 2) not null
        constraint shipment_weight_positive check (weight_kg > 0),
    cost               numeric(10, 2) not null
        constraint shipment_cost_non_negative check (cost >= 0),
    created_at         timestamptz not null,
    shipped_at         timestamptz,
    eta                timestamptz,
    delivered_at       timestamptz,
    constraint shipment_delivered_has_time
        check ((status = 'DELIVERED') = (delivered_at is not null))
);
comment on constraint shipment_status on shipments is
    'a shipment is CREATED, LABEL_PRINTED, PICKED_UP, IN_TRANSIT, DELAYED, OUT_FOR_DELIVERY, '
    'DELIVERED, EXCEPTION or CANCELLED';
create index shipments_order on shipments (order_id);
create index shipments_status on shipments (status);

create table shipment_lines (
    shipment_id text not null references shipments on delete cascade,
    order_id    text not null,
    line_no     smallint not null,
    quantity    integer not null
        constraint shipment_line_quantity_positive check (quantity > 0),
    primary key (shipment_id, order_id, line_no),
    foreign key (order_id, line_no) references order_lines (order_id, line_no)
);

create table shipment_events (
    shipment_event_id bigserial primary key,
    shipment_id       text not null references shipments on delete cascade,
    status            text not null,
    location          text not null,
    at                timestamptz not null,
    note              text not null default ''
);
create index shipment_events_shipment on shipment_events (shipment_id, at);

-- ───────────────────────── machine health and maintenance ─────────────────────────

create table sensor_thresholds (
    threshold_id serial primary key,
    sensor       text not null
        constraint threshold_sensor check (sensor in
            ('vibration', 'temperature', 'spindle_speed', 'spindle_load', 'coolant_pressure',
             'motor_current', 'power')),
    machine_id   text references equipment on delete cascade,
    unit         text not null,
    direction    text not null
        constraint threshold_direction check (direction in ('ABOVE', 'BELOW')),
    warning      double precision not null,
    critical     double precision not null,
    constraint threshold_order check (
        (direction = 'ABOVE' and critical > warning) or (direction = 'BELOW' and critical < warning)),
    unique nulls not distinct (sensor, machine_id)
);
comment on constraint threshold_order on sensor_thresholds is
    'the critical level lies beyond the warning level (higher for ABOVE, lower for BELOW)';

create table sensor_readings (
    machine_id text not null references equipment on delete cascade,
    sensor     text not null
        constraint reading_sensor check (sensor in
            ('vibration', 'temperature', 'spindle_speed', 'spindle_load', 'coolant_pressure',
             'motor_current', 'power')),
    ts         timestamptz not null,
    value      double precision not null
        constraint reading_value_finite check (value <> 'NaN' and value < 'Infinity'
                                               and value > '-Infinity'),
    unit       text not null,
    -- the key is also the index that makes "the last hour of PHX-CNC-007" fast
    primary key (machine_id, sensor, ts)
);
comment on constraint reading_sensor on sensor_readings is
    'sensor is one of vibration, temperature, spindle_speed, spindle_load, coolant_pressure, '
    'motor_current, power';
create index sensor_readings_ts on sensor_readings using brin (ts);

create table anomalies (
    anomaly_id  bigserial primary key,
    machine_id  text not null references equipment on delete cascade,
    sensor      text not null,
    kind        text not null
        constraint anomaly_kind check (kind in ('THRESHOLD', 'TREND', 'SPIKE', 'FLATLINE', 'DRIFT')),
    severity    text not null
        constraint anomaly_severity check (severity in ('WARNING', 'CRITICAL')),
    value       double precision not null,
    threshold   double precision,
    detected_at timestamptz not null,
    status      text not null default 'OPEN'
        constraint anomaly_status check (status in ('OPEN', 'ACKNOWLEDGED', 'RESOLVED')),
    description text not null default ''
);
create index anomalies_machine on anomalies (machine_id, detected_at desc);

create table failure_predictions (
    prediction_id        bigserial primary key,
    machine_id           text not null references equipment on delete cascade,
    failure_mode         text not null
        constraint prediction_failure_mode check (failure_mode in
            ('BEARING_DEGRADATION', 'MOTOR_BURNOUT', 'SPINDLE_WEAR', 'COOLANT_FAILURE',
             'ELECTRICAL_FAULT', 'SENSOR_DRIFT')),
    probability          double precision not null
        constraint prediction_probability_range check (probability between 0 and 1),
    predicted_at         timestamptz not null,
    predicted_failure_at timestamptz,
    confidence           double precision not null
        constraint prediction_confidence_range check (confidence between 0 and 1),
    model                text not null,
    evidence             jsonb not null default '{}'
);
create index failure_predictions_machine on failure_predictions (machine_id, predicted_at desc);

create sequence work_order_number start 3001;

create table work_orders (
    work_order_id   text primary key default ('WO-' || nextval('work_order_number')),
    machine_id      text not null references equipment,
    kind            text not null
        constraint work_order_kind check (kind in
            ('CORRECTIVE', 'PREVENTIVE', 'PREDICTIVE', 'INSPECTION')),
    priority        text not null
        constraint work_order_priority check (priority in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    status          text not null default 'OPEN'
        constraint work_order_status check (status in
            ('OPEN', 'SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED')),
    fault_type      text,
    description     text not null,
    anomaly_id      bigint references anomalies,
    prediction_id   bigint references failure_predictions,
    assigned_to     text,
    scheduled_start timestamptz,
    scheduled_end   timestamptz,
    created_at      timestamptz not null,
    started_at      timestamptz,
    completed_at    timestamptz,
    constraint work_order_window check (scheduled_end is null or scheduled_start is null
                                        or scheduled_end > scheduled_start),
    constraint work_order_completed_has_time
        check ((status = 'COMPLETED') = (completed_at is not null))
);
comment on constraint work_order_status on work_orders is
    'a work order is OPEN, SCHEDULED, IN_PROGRESS, COMPLETED or CANCELLED';
comment on constraint work_order_window on work_orders is
    'a maintenance window must end after it starts';
create index work_orders_machine on work_orders (machine_id, status);

create table spare_part_compatibility (
    model      text not null references machine_models,
    fault_type text not null
        constraint spare_fault_type check (fault_type in
            ('BEARING_DEGRADATION', 'MOTOR_BURNOUT', 'SPINDLE_WEAR', 'COOLANT_FAILURE',
             'ELECTRICAL_FAULT', 'SENSOR_DRIFT')),
    part_role  text not null,
    sku        text not null references products,
    quantity   integer not null
        constraint spare_quantity_positive check (quantity > 0),
    primary key (model, fault_type, part_role, sku)
);

create table production_counters (
    machine_id       text not null references equipment on delete cascade,
    shift_date       date not null,
    shift_name       text not null,
    parts_produced   integer not null default 0
        constraint counter_produced_non_negative check (parts_produced >= 0),
    parts_defective  integer not null default 0
        constraint counter_defective_non_negative check (parts_defective >= 0),
    planned_minutes  integer not null default 0
        constraint counter_planned_non_negative check (planned_minutes >= 0),
    runtime_minutes  integer not null default 0
        constraint counter_runtime_non_negative check (runtime_minutes >= 0),
    ideal_cycle_minutes numeric(8, 2),
    updated_at       timestamptz not null,
    primary key (machine_id, shift_date, shift_name),
    constraint counter_defects_within_produced check (parts_defective <= parts_produced)
);
comment on constraint counter_defects_within_produced on production_counters is
    'defective parts cannot exceed parts produced';

-- ───────────────────────── schedules ─────────────────────────

create table schedules (
    schedule_id   bigserial primary key,
    status        text not null default 'PROPOSED'
        constraint schedule_status check (status in
            ('PROPOSED', 'APPLIED', 'SUPERSEDED', 'REJECTED')),
    facility_id   text references facilities,
    objective     text not null,
    solver_status text not null,
    objective_value double precision,
    best_bound    double precision,
    gap           double precision,
    solve_seconds double precision,
    horizon_start timestamptz not null,
    horizon_end   timestamptz not null,
    created_at    timestamptz not null,
    created_by    text not null,
    applied_at    timestamptz,
    constraint schedule_horizon check (horizon_end > horizon_start)
);
create unique index schedules_one_applied on schedules (coalesce(facility_id, '*'))
    where status = 'APPLIED';

create table schedule_slots (
    schedule_id   bigint not null references schedules on delete cascade,
    order_id      text not null,
    line_no       smallint not null,
    op_seq        smallint not null,
    machine_id    text not null references equipment,
    starts_at     timestamptz not null,
    ends_at       timestamptz not null,
    setup_minutes integer not null default 0,
    primary key (schedule_id, order_id, line_no, op_seq),
    foreign key (order_id, line_no) references order_lines (order_id, line_no),
    constraint slot_order check (ends_at > starts_at)
);
create index schedule_slots_machine on schedule_slots (schedule_id, machine_id, starts_at);

-- ───────────────────────── communications ─────────────────────────

create table notifications (
    notification_id bigserial primary key,
    recipient       text not null,
    channel         text not null
        constraint notification_channel check (channel in ('EMAIL', 'SMS', 'SLACK', 'IN_APP')),
    severity        text not null default 'INFO'
        constraint notification_severity check (severity in ('INFO', 'WARNING', 'CRITICAL')),
    subject         text not null,
    body            text not null,
    status          text not null default 'PENDING'
        constraint notification_status check (status in ('PENDING', 'SENT', 'FAILED', 'READ')),
    entity_type     text,
    entity_id       text,
    created_at      timestamptz not null,
    sent_at         timestamptz
);

create sequence inquiry_number start 9001;

create table customer_inquiries (
    inquiry_id  text primary key default ('INQ-' || nextval('inquiry_number')),
    customer_id text not null references customers,
    order_id    text references orders,
    channel     text not null
        constraint inquiry_channel check (channel in ('EMAIL', 'PHONE', 'PORTAL')),
    kind        text not null default 'OTHER'
        constraint inquiry_kind check (kind in ('STATUS', 'EXPEDITE', 'QUALITY', 'OTHER')),
    subject     text not null,
    body        text not null,
    status      text not null default 'OPEN'
        constraint inquiry_status check (status in ('OPEN', 'ANSWERED', 'CLOSED')),
    received_at timestamptz not null,
    answered_at timestamptz,
    response    text
);

-- ───────────────────────── events, audit, approvals, people ─────────────────────────

create table event_log (
    event_id    bigserial primary key,
    type        text not null
        constraint event_type_format check (type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    source      text not null
        constraint event_source check (source in
            ('user', 'agent', 'simulator', 'reactor', 'ingest', 'system')),
    entity_type text,
    entity_id   text,
    payload     jsonb not null default '{}',
    occurred_at timestamptz not null,
    recorded_at timestamptz not null default now()
);
comment on constraint event_type_format on event_log is
    'an event type is dotted lower-case words, such as order.created';
create index event_log_type on event_log (type, event_id);
create index event_log_entity on event_log (entity_type, entity_id, event_id);

create table users (
    user_id      text primary key,
    display_name text not null,
    email        text unique,
    role         text not null
        constraint user_role check (role in
            ('operator', 'supervisor', 'production_manager', 'admin')),
    active       boolean not null default true,
    created_at   timestamptz not null default now()
);
comment on constraint user_role on users is
    'role is one of operator, supervisor, production_manager, admin';

create table api_keys (
    key_id       text primary key,
    user_id      text not null references users on delete cascade,
    key_hash     text not null unique,
    role         text not null
        constraint api_key_role check (role in
            ('operator', 'supervisor', 'production_manager', 'admin')),
    label        text not null default '',
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

create table approvals (
    approval_id     text primary key,
    thread_id       text not null,
    status          text not null default 'PENDING'
        constraint approval_status check (status in
            ('PENDING', 'APPROVED', 'REJECTED', 'EDITED', 'EXPIRED')),
    agent           text not null,
    action          text not null,
    arguments       jsonb not null,
    impact          jsonb not null default '{}',
    reason          text not null,
    required_role   text not null default 'supervisor'
        constraint approval_required_role check (required_role in
            ('operator', 'supervisor', 'production_manager', 'admin')),
    requested_at    timestamptz not null,
    decided_by      text references users,
    decided_at      timestamptz,
    decision_reason text,
    edited_arguments jsonb,
    constraint approval_decided_consistently check ((status = 'PENDING') = (decided_at is null))
);
comment on constraint approval_decided_consistently on approvals is
    'a pending approval has no decision time; a decided one has one';
create unique index approvals_one_pending_per_thread on approvals (thread_id)
    where status = 'PENDING';

create table audit_log (
    audit_id    bigserial primary key,
    actor_type  text not null
        constraint audit_actor_type check (actor_type in
            ('user', 'agent', 'simulator', 'reactor', 'ingest', 'system')),
    actor_id    text not null,
    action      text not null,
    entity_type text not null,
    entity_id   text not null,
    before      jsonb,
    after       jsonb,
    thread_id   text,
    approval_id text references approvals,
    at          timestamptz not null
);
create index audit_log_entity on audit_log (entity_type, entity_id, at);
