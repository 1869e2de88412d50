# ruff: noqa: E501  (SQL and prompt text are kept as written)
"""Build labs/p2-window-functions-ctes-lab.ipynb (instructor source) from the definitions below.

Run from the checkout root: `.venv/bin/python notebooks/assets/p2/build_lab.py`, then store the
outputs with `dojo run-notebook labs/p2-window-functions-ctes-lab.ipynb`. Editing the lab here
(not in the .ipynb) keeps prompts, references and planted wrong answers reviewable as text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from dbdojo.checking.authoring import exercise_cells, new_lab

ROOT = Path(__file__).resolve().parents[3]
OUT = (
    sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "labs" / "p2-window-functions-ctes-lab.ipynb")
)

INTRO = """# P2 lab: window functions and CTEs

Sixteen exercises, from a first CTE to recursive walks that must survive a cycle. Each one is
checked on your workspace **and** on small edge-case datasets: ties (equal totals, salaries,
timestamps), empty groups (merchants without orders), NULLs, and a region tree with a cycle
in it. A query that is right only by luck on the main data fails there, and the feedback says
where.

How to work:

- Write your query under the `%%check` line and run the cell. Only your last statement's
  result is compared; nothing you run changes the data (it runs in a rolled-back transaction).
- The prompt names the columns (use exactly these names, `AS …`) and the order of the rows.
- `dojo.hint("p2.<id>")` shows one more hint each time you call it.
- Stuck on a concept? The notebook `notebooks/p2-window-functions-ctes.ipynb` has a worked
  example of each.

Local dates: the marketplace lives in Europe/Amsterdam. Where a prompt says *local date*, use
`(placed_at AT TIME ZONE 'Europe/Amsterdam')::date`.
"""

EXERCISES: list[dict] = []


def exercise(
    id: str,
    title: str,
    prompt: str,
    reference: str,
    starter: str,
    hints: list[str],
    wrong: list[str],
    options: dict | None = None,
) -> None:
    EXERCISES.append(
        dict(
            id=id,
            title=title,
            prompt=prompt,
            reference=reference,
            starter=starter,
            hints=hints,
            wrong=wrong,
            options=options or {},
        )
    )


# ---------------------------------------------------------------------------------------------
exercise(
    "p2.city-revenue",
    "A first CTE: revenue per city",
    """### Exercise 1: revenue per city, with a CTE

An order's `region_id` is its delivery **zone**; the zone's `parent_region_id` is its **city**.
Using a CTE (`WITH`) that attaches the city name to each **delivered** order, return one row
per city that has delivered orders: `city` (the city's `name`), `orders` (number of delivered
orders) and `revenue` (sum of their `total`). Order by `revenue` descending, then `city`.""",
    """WITH city_orders AS (
    SELECT c.name AS city, o.total
    FROM orders o
    JOIN regions z ON z.region_id = o.region_id
    JOIN regions c ON c.region_id = z.parent_region_id
    WHERE o.status = 'delivered'
)
SELECT city, count(*) AS orders, sum(total) AS revenue
FROM city_orders
GROUP BY city
ORDER BY revenue DESC, city""",
    "-- Your query here\nWITH city_orders AS (\n    SELECT ...\n)\nSELECT ...",
    [
        "Two joins to `regions`: one for the zone (`o.region_id`), one for its parent (the city).",
        "Filter `status = 'delivered'` inside the CTE, then GROUP BY the city name outside it.",
    ],
    [
        # forgot the status filter
        """WITH city_orders AS (SELECT c.name AS city, o.total FROM orders o
JOIN regions z ON z.region_id = o.region_id JOIN regions c ON c.region_id = z.parent_region_id)
SELECT city, count(*) AS orders, sum(total) AS revenue FROM city_orders GROUP BY city ORDER BY revenue DESC, city""",
        # grouped by zone instead of city
        """WITH city_orders AS (SELECT z.name AS city, o.total FROM orders o
JOIN regions z ON z.region_id = o.region_id WHERE o.status = 'delivered')
SELECT city, count(*) AS orders, sum(total) AS revenue FROM city_orders GROUP BY city ORDER BY revenue DESC, city""",
        # subtotal instead of total
        """WITH city_orders AS (SELECT c.name AS city, o.subtotal AS total FROM orders o
JOIN regions z ON z.region_id = o.region_id JOIN regions c ON c.region_id = z.parent_region_id
WHERE o.status = 'delivered')
SELECT city, count(*) AS orders, sum(total) AS revenue FROM city_orders GROUP BY city ORDER BY revenue DESC, city""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.order-number",
    "ROW_NUMBER per customer",
    """### Exercise 2: number each customer's orders

For the customers with `customer_id <= 20`, return every order with `customer_id`,
`order_id`, `placed_at` and `order_no`: 1 for the customer's first order, 2 for the second,
and so on, in order of `placed_at` (orders placed at the same instant: the smaller `order_id`
first). Order the result by `customer_id`, `order_no`.""",
    """SELECT customer_id, order_id, placed_at,
       row_number() OVER (PARTITION BY customer_id ORDER BY placed_at, order_id) AS order_no
FROM orders
WHERE customer_id <= 20
ORDER BY customer_id, order_no""",
    "-- Your query here\nSELECT customer_id, order_id, placed_at\nFROM orders\nWHERE customer_id <= 20",
    [
        "A number that restarts for every customer: `row_number() OVER (PARTITION BY …)`.",
        "Inside OVER: `PARTITION BY customer_id ORDER BY placed_at, order_id`.",
    ],
    [
        # no PARTITION BY: one numbering for everybody
        """SELECT customer_id, order_id, placed_at, row_number() OVER (ORDER BY placed_at, order_id) AS order_no
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, order_no""",
        # newest first
        """SELECT customer_id, order_id, placed_at,
row_number() OVER (PARTITION BY customer_id ORDER BY placed_at DESC, order_id DESC) AS order_no
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, order_no""",
        # numbered by the wrong column
        """SELECT customer_id, order_id, placed_at,
row_number() OVER (PARTITION BY customer_id ORDER BY total DESC, order_id) AS order_no
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, order_no""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.salary-ranks",
    "RANK or DENSE_RANK: the top salaries per job title",
    """### Exercise 3: the three highest salaries of every job title

Salaries tie often. For every `job_title`, return the employees who earn one of the **three
highest distinct salaries** of their job title (if two people share the top salary, the next
salary down is still the second highest). Columns: `job_title`, `employee_id`, `salary`,
`salary_rank` (1 for the highest salary, 2 for the next distinct one, 3). Order by
`job_title`, `salary_rank`, `employee_id`.""",
    """WITH ranked AS (
    SELECT job_title, employee_id, salary,
           dense_rank() OVER (PARTITION BY job_title ORDER BY salary DESC) AS salary_rank
    FROM employees
)
SELECT job_title, employee_id, salary, salary_rank
FROM ranked
WHERE salary_rank <= 3
ORDER BY job_title, salary_rank, employee_id""",
    "-- Your query here\nSELECT job_title, employee_id, salary\nFROM employees",
    [
        "Rank inside each job title (PARTITION BY), highest salary first; filter the rank in an outer query (a CTE): WHERE cannot see window functions.",
        "Which ranking function gives 1, 2, 2, 3 (no gap after a tie)?",
    ],
    [
        # rank(): a gap after ties, so fewer distinct salaries make it
        """WITH ranked AS (SELECT job_title, employee_id, salary,
rank() OVER (PARTITION BY job_title ORDER BY salary DESC) AS salary_rank FROM employees)
SELECT job_title, employee_id, salary, salary_rank FROM ranked WHERE salary_rank <= 3
ORDER BY job_title, salary_rank, employee_id""",
        # row_number(): exactly three people, ties cut arbitrarily
        """WITH ranked AS (SELECT job_title, employee_id, salary,
row_number() OVER (PARTITION BY job_title ORDER BY salary DESC, employee_id) AS salary_rank FROM employees)
SELECT job_title, employee_id, salary, salary_rank FROM ranked WHERE salary_rank <= 3
ORDER BY job_title, salary_rank, employee_id""",
        # no PARTITION BY: the top salaries of the whole company
        """WITH ranked AS (SELECT job_title, employee_id, salary,
dense_rank() OVER (ORDER BY salary DESC) AS salary_rank FROM employees)
SELECT job_title, employee_id, salary, salary_rank FROM ranked WHERE salary_rank <= 3
ORDER BY job_title, salary_rank, employee_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.hours-since-previous",
    "LAG: time since the previous order",
    """### Exercise 4: how long since the customer's previous order?

For the customers with `customer_id <= 20`, return each order with `customer_id`, `order_id`
and `hours_since_previous`: the hours between this order's `placed_at` and the same
customer's previous order's `placed_at`, rounded to 2 decimals (NULL for a customer's first
order). "Previous" is in order of `placed_at`, then `order_id`. Order by `customer_id`,
`placed_at`, `order_id`.

(`extract(epoch FROM an_interval)` gives the interval in seconds.)""",
    """SELECT customer_id, order_id,
       round(extract(epoch FROM placed_at - lag(placed_at) OVER w) / 3600, 2) AS hours_since_previous
FROM orders
WHERE customer_id <= 20
WINDOW w AS (PARTITION BY customer_id ORDER BY placed_at, order_id)
ORDER BY customer_id, placed_at, order_id""",
    "-- Your query here\nSELECT customer_id, order_id\nFROM orders\nWHERE customer_id <= 20",
    [
        "`lag(placed_at)` reads the previous row's value in the window's order.",
        "The previous order must be the same customer's: PARTITION BY customer_id ORDER BY placed_at, order_id; then divide the epoch seconds by 3600.",
    ],
    [
        # no PARTITION BY: a customer's first order gets the previous customer's last order
        """SELECT customer_id, order_id,
round(extract(epoch FROM placed_at - lag(placed_at) OVER (ORDER BY customer_id, placed_at, order_id)) / 3600, 2) AS hours_since_previous
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, placed_at, order_id""",
        # lead instead of lag: time until the next order (negative)
        """SELECT customer_id, order_id,
round(extract(epoch FROM placed_at - lead(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at, order_id)) / 3600, 2) AS hours_since_previous
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, placed_at, order_id""",
        # offset 2: the order before the previous one
        """SELECT customer_id, order_id,
round(extract(epoch FROM placed_at - lag(placed_at, 2) OVER (PARTITION BY customer_id ORDER BY placed_at, order_id)) / 3600, 2) AS hours_since_previous
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, placed_at, order_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.moving-average",
    "A moving average over the last three orders",
    """### Exercise 5: a moving average with an explicit frame

For the customers with `customer_id <= 20`, return each order with `customer_id`, `order_id`,
`total` and `avg_last_3`: the average `total` of this order and the customer's **two
previous** orders (fewer at the start: the first order averages only itself), rounded to 2
decimals. Orders in order of `placed_at`, then `order_id`. Order the result by `customer_id`,
`placed_at`, `order_id`.""",
    """SELECT customer_id, order_id, total,
       round(avg(total) OVER (PARTITION BY customer_id ORDER BY placed_at, order_id
                              ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), 2) AS avg_last_3
FROM orders
WHERE customer_id <= 20
ORDER BY customer_id, placed_at, order_id""",
    "-- Your query here\nSELECT customer_id, order_id, total\nFROM orders\nWHERE customer_id <= 20",
    [
        "A frame counted in rows: `ROWS BETWEEN … PRECEDING AND CURRENT ROW`.",
        "This order plus two previous ones is three rows: how many PRECEDING is that?",
    ],
    [
        # off by one: four orders
        """SELECT customer_id, order_id, total, round(avg(total) OVER (PARTITION BY customer_id ORDER BY placed_at, order_id
ROWS BETWEEN 3 PRECEDING AND CURRENT ROW), 2) AS avg_last_3
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, placed_at, order_id""",
        # centred window: previous, current and next
        """SELECT customer_id, order_id, total, round(avg(total) OVER (PARTITION BY customer_id ORDER BY placed_at, order_id
ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), 2) AS avg_last_3
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, placed_at, order_id""",
        # no PARTITION BY: averages across customers
        """SELECT customer_id, order_id, total, round(avg(total) OVER (ORDER BY customer_id, placed_at, order_id
ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), 2) AS avg_last_3
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, placed_at, order_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.running-total-by-day",
    "A running total when the sort key has ties",
    """### Exercise 6: a running total, order by order

For the customers with `customer_id <= 20`, return each order with `customer_id`,
`order_id`, `day` (the local date the order was placed: `(placed_at AT TIME ZONE
'Europe/Amsterdam')::date`) and `spent_so_far`: the sum of `total` over the customer's orders
up to and including this one, where orders are taken in order of `day` and, within a day, of
`order_id`. Every order must get its own running total, even when a customer ordered twice
on the same day. Order by `customer_id`, `day`, `order_id`.""",
    """SELECT customer_id, order_id,
       (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day,
       sum(total) OVER (PARTITION BY customer_id
                        ORDER BY (placed_at AT TIME ZONE 'Europe/Amsterdam')::date, order_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS spent_so_far
FROM orders
WHERE customer_id <= 20
ORDER BY customer_id, day, order_id""",
    "-- Your query here\nSELECT customer_id, order_id\nFROM orders\nWHERE customer_id <= 20",
    [
        "A running total is `sum(total) OVER (PARTITION BY … ORDER BY …)` with a frame that ends at the current row.",
        "With `ORDER BY day` alone, two orders of the same day are peers: the default frame (`RANGE … CURRENT ROW`) includes both. Add the tiebreaker, or use a ROWS frame.",
    ],
    [
        # default RANGE frame, no tiebreaker: same-day orders share the day's total
        """SELECT customer_id, order_id, (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day,
sum(total) OVER (PARTITION BY customer_id ORDER BY (placed_at AT TIME ZONE 'Europe/Amsterdam')::date) AS spent_so_far
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, day, order_id""",
        # no PARTITION BY: a running total over all customers
        """SELECT customer_id, order_id, (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day,
sum(total) OVER (ORDER BY (placed_at AT TIME ZONE 'Europe/Amsterdam')::date, order_id
ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS spent_so_far
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, day, order_id""",
        # frame ends one row too early: the current order is missing
        """SELECT customer_id, order_id, (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day,
sum(total) OVER (PARTITION BY customer_id ORDER BY (placed_at AT TIME ZONE 'Europe/Amsterdam')::date, order_id
ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS spent_so_far
FROM orders WHERE customer_id <= 20 ORDER BY customer_id, day, order_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.month-over-month",
    "LAG over an aggregate: month-over-month growth",
    """### Exercise 7: month-over-month growth

Per local month (`date_trunc('month', placed_at AT TIME ZONE 'Europe/Amsterdam')::date`),
return `month`, `revenue` (sum of `total` of **delivered** orders), `previous_revenue` (the
previous month's revenue, NULL for the first month) and `growth_pct`:
`100 * (revenue / previous_revenue - 1)` rounded to 1 decimal. Order by `month`.""",
    """WITH monthly AS (
    SELECT date_trunc('month', placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS month,
           sum(total) AS revenue
    FROM orders
    WHERE status = 'delivered'
    GROUP BY month
)
SELECT month, revenue,
       lag(revenue) OVER (ORDER BY month) AS previous_revenue,
       round(100 * (revenue / lag(revenue) OVER (ORDER BY month) - 1), 1) AS growth_pct
FROM monthly
ORDER BY month""",
    "-- Your query here\nWITH monthly AS (\n    SELECT ...\n)\nSELECT ...",
    [
        "First one row per month (a CTE with GROUP BY), then a window over those rows.",
        "`lag(revenue) OVER (ORDER BY month)` is the previous month's revenue.",
    ],
    [
        # lead: compares with the next month
        """WITH monthly AS (SELECT date_trunc('month', placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS month,
sum(total) AS revenue FROM orders WHERE status = 'delivered' GROUP BY month)
SELECT month, revenue, lead(revenue) OVER (ORDER BY month) AS previous_revenue,
round(100 * (revenue / lead(revenue) OVER (ORDER BY month) - 1), 1) AS growth_pct FROM monthly ORDER BY month""",
        # growth against the first month
        """WITH monthly AS (SELECT date_trunc('month', placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS month,
sum(total) AS revenue FROM orders WHERE status = 'delivered' GROUP BY month)
SELECT month, revenue, lag(revenue) OVER (ORDER BY month) AS previous_revenue,
round(100 * (revenue / first_value(revenue) OVER (ORDER BY month) - 1), 1) AS growth_pct FROM monthly ORDER BY month""",
        # every order counted, not only delivered ones
        """WITH monthly AS (SELECT date_trunc('month', placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS month,
sum(total) AS revenue FROM orders GROUP BY month)
SELECT month, revenue, lag(revenue) OVER (ORDER BY month) AS previous_revenue,
round(100 * (revenue / lag(revenue) OVER (ORDER BY month) - 1), 1) AS growth_pct FROM monthly ORDER BY month""",
    ],
    {"tolerance": 0.01},
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.orders-at-most",
    "RANGE on purpose: peers counted together",
    """### Exercise 8: how many orders were at most this big?

Take the orders of the customers with `customer_id <= 30`. For each of them return
`order_id`, `total` and `orders_at_most`: how many of **these** orders have a `total` less
than or equal to this order's `total` (the order itself included). Many orders share a total:
two orders with the same total must get the same number. Order by `total`, `order_id`.

Solve it with a window function (no self-join).""",
    """SELECT order_id, total,
       count(*) OVER (ORDER BY total RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS orders_at_most
FROM orders
WHERE customer_id <= 30
ORDER BY total, order_id""",
    "-- Your query here\nSELECT order_id, total\nFROM orders\nWHERE customer_id <= 30",
    [
        "A running count in order of `total`. Which frame type treats rows with equal totals (peers) as one block?",
        "`RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW` ends after the current row's last peer (and it is the default frame when the window has an ORDER BY).",
    ],
    [
        # ROWS: tied orders get different counts
        """SELECT order_id, total, count(*) OVER (ORDER BY total, order_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS orders_at_most
FROM orders WHERE customer_id <= 30 ORDER BY total, order_id""",
        # rank(): counts the smaller ones + 1, not the ties
        """SELECT order_id, total, rank() OVER (ORDER BY total) AS orders_at_most
FROM orders WHERE customer_id <= 30 ORDER BY total, order_id""",
        # row_number(): same as ROWS
        """SELECT order_id, total, row_number() OVER (ORDER BY total, order_id) AS orders_at_most
FROM orders WHERE customer_id <= 30 ORDER BY total, order_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.top-products",
    "Top-N per group, ties included",
    """### Exercise 9: the three best sellers of every category, ties included

Units sold per product is `sum(quantity)` over its `order_lines` (all orders, whatever their
status). For every product `category`, return the products whose units sold rank **in the top
3 of their category, ties included** (as in sports: two products tied for second place are
both second, and the next one is fourth, so it is out). Columns: `category`, `product_id`,
`units_sold`, `place`. Order by `category`, `place`, `product_id`.""",
    """WITH units AS (
    SELECT p.category, p.product_id, sum(l.quantity) AS units_sold
    FROM order_lines l
    JOIN products p USING (product_id)
    GROUP BY p.category, p.product_id
),
ranked AS (
    SELECT *, rank() OVER (PARTITION BY category ORDER BY units_sold DESC) AS place
    FROM units
)
SELECT category, product_id, units_sold, place
FROM ranked
WHERE place <= 3
ORDER BY category, place, product_id""",
    "-- Your query here\nWITH units AS (\n    SELECT ...\n)\nSELECT ...",
    [
        "Two steps: units per product (GROUP BY), then a rank per category (PARTITION BY category), filtered in an outer query.",
        "Ties share a place and the next place is skipped (1, 2, 2, 4): that is `rank()`.",
    ],
    [
        # row_number: exactly three, ties cut
        """WITH units AS (SELECT p.category, p.product_id, sum(l.quantity) AS units_sold FROM order_lines l
JOIN products p USING (product_id) GROUP BY p.category, p.product_id),
ranked AS (SELECT *, row_number() OVER (PARTITION BY category ORDER BY units_sold DESC, product_id) AS place FROM units)
SELECT category, product_id, units_sold, place FROM ranked WHERE place <= 3 ORDER BY category, place, product_id""",
        # dense_rank: no gap after ties, too many products
        """WITH units AS (SELECT p.category, p.product_id, sum(l.quantity) AS units_sold FROM order_lines l
JOIN products p USING (product_id) GROUP BY p.category, p.product_id),
ranked AS (SELECT *, dense_rank() OVER (PARTITION BY category ORDER BY units_sold DESC) AS place FROM units)
SELECT category, product_id, units_sold, place FROM ranked WHERE place <= 3 ORDER BY category, place, product_id""",
        # no PARTITION BY: the overall top 3
        """WITH units AS (SELECT p.category, p.product_id, sum(l.quantity) AS units_sold FROM order_lines l
JOIN products p USING (product_id) GROUP BY p.category, p.product_id),
ranked AS (SELECT *, rank() OVER (ORDER BY units_sold DESC) AS place FROM units)
SELECT category, product_id, units_sold, place FROM ranked WHERE place <= 3 ORDER BY category, place, product_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.latest-order-lateral",
    "LEFT JOIN LATERAL: the latest order of every merchant",
    """### Exercise 10: every merchant with its latest order

For **every** merchant with `merchant_id <= 60`, return `merchant_id`, `name`, and the
`order_id`, `placed_at` and `total` of its most recent order (largest `placed_at`; equal
`placed_at`: the larger `order_id`). Florists without any order must be listed too, with
NULLs (a shop that just joined the marketplace has no orders yet). Use a `LATERAL`
subquery. Order by `merchant_id`.""",
    """SELECT m.merchant_id, m.name, latest.order_id, latest.placed_at, latest.total
FROM merchants m
LEFT JOIN LATERAL (
    SELECT o.order_id, o.placed_at, o.total
    FROM orders o
    WHERE o.merchant_id = m.merchant_id
    ORDER BY o.placed_at DESC, o.order_id DESC
    LIMIT 1
) AS latest ON true
WHERE m.merchant_id <= 60
ORDER BY m.merchant_id""",
    "-- Your query here\nSELECT m.merchant_id, m.name\nFROM merchants m\nWHERE m.merchant_id <= 60",
    [
        "A subquery per merchant: `… JOIN LATERAL (SELECT … FROM orders o WHERE o.merchant_id = m.merchant_id ORDER BY … LIMIT 1)`.",
        "Merchants whose subquery returns no row must stay: `LEFT JOIN LATERAL (…) AS latest ON true`.",
    ],
    [
        # CROSS JOIN LATERAL drops the merchants without orders
        """SELECT m.merchant_id, m.name, latest.order_id, latest.placed_at, latest.total FROM merchants m
CROSS JOIN LATERAL (SELECT o.order_id, o.placed_at, o.total FROM orders o WHERE o.merchant_id = m.merchant_id
ORDER BY o.placed_at DESC, o.order_id DESC LIMIT 1) AS latest WHERE m.merchant_id <= 60 ORDER BY m.merchant_id""",
        # oldest order instead of the latest
        """SELECT m.merchant_id, m.name, latest.order_id, latest.placed_at, latest.total FROM merchants m
LEFT JOIN LATERAL (SELECT o.order_id, o.placed_at, o.total FROM orders o WHERE o.merchant_id = m.merchant_id
ORDER BY o.placed_at, o.order_id LIMIT 1) AS latest ON true WHERE m.merchant_id <= 60 ORDER BY m.merchant_id""",
        # the largest order instead of the latest
        """SELECT m.merchant_id, m.name, latest.order_id, latest.placed_at, latest.total FROM merchants m
LEFT JOIN LATERAL (SELECT o.order_id, o.placed_at, o.total FROM orders o WHERE o.merchant_id = m.merchant_id
ORDER BY o.total DESC, o.order_id DESC LIMIT 1) AS latest ON true WHERE m.merchant_id <= 60 ORDER BY m.merchant_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.time-in-status",
    "LEAD: how long does a delivery stay in each status?",
    """### Exercise 11: time spent in each delivery status

`delivery_status_events` records when a delivery job entered each status. A job stays in a
status until its **next** event (in order of `occurred_at`, then
`delivery_status_event_id`); its last event has no next one and does not count. For the
jobs with `delivery_job_id <= 5000`, return per `status`: `transitions` (how many events are
followed by another event of the same job) and `avg_minutes` (the average time until that next
event, in minutes, rounded to 1 decimal). Statuses whose events are never followed by another
event are left out. Order by `status`.""",
    """WITH steps AS (
    SELECT status,
           lead(occurred_at) OVER (PARTITION BY delivery_job_id
                                   ORDER BY occurred_at, delivery_status_event_id) - occurred_at AS time_in_status
    FROM delivery_status_events
    WHERE delivery_job_id <= 5000
)
SELECT status, count(*) AS transitions,
       round(avg(extract(epoch FROM time_in_status)) / 60, 1) AS avg_minutes
FROM steps
WHERE time_in_status IS NOT NULL
GROUP BY status
ORDER BY status""",
    "-- Your query here\nSELECT status, occurred_at\nFROM delivery_status_events\nWHERE delivery_job_id <= 5000",
    [
        "`lead(occurred_at) OVER (…)` is when the next status began; subtract the current `occurred_at`.",
        "The next event must be the same job's (PARTITION BY delivery_job_id); aggregate in an outer query, skipping the NULLs of each job's last event.",
    ],
    [
        # no PARTITION BY: a job's last event is followed by the next job's first event
        """WITH steps AS (SELECT status, lead(occurred_at) OVER (ORDER BY delivery_job_id, occurred_at, delivery_status_event_id) - occurred_at AS time_in_status
FROM delivery_status_events WHERE delivery_job_id <= 5000)
SELECT status, count(*) AS transitions, round(avg(extract(epoch FROM time_in_status)) / 60, 1) AS avg_minutes
FROM steps WHERE time_in_status IS NOT NULL GROUP BY status ORDER BY status""",
        # lag: the time since the previous status, attributed to the wrong one
        """WITH steps AS (SELECT status, occurred_at - lag(occurred_at) OVER (PARTITION BY delivery_job_id ORDER BY occurred_at, delivery_status_event_id) AS time_in_status
FROM delivery_status_events WHERE delivery_job_id <= 5000)
SELECT status, count(*) AS transitions, round(avg(extract(epoch FROM time_in_status)) / 60, 1) AS avg_minutes
FROM steps WHERE time_in_status IS NOT NULL GROUP BY status ORDER BY status""",
        # counts the last events too
        """WITH steps AS (SELECT status, lead(occurred_at) OVER (PARTITION BY delivery_job_id ORDER BY occurred_at, delivery_status_event_id) - occurred_at AS time_in_status
FROM delivery_status_events WHERE delivery_job_id <= 5000)
SELECT status, count(*) AS transitions, round(avg(extract(epoch FROM time_in_status)) / 60, 1) AS avg_minutes
FROM steps GROUP BY status HAVING count(time_in_status) > 0 ORDER BY status""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.region-tree",
    "A recursive CTE: the region tree with depth and path",
    """### Exercise 12: walk the region tree

Starting at the root of `regions` (the region whose `parent_region_id` is NULL), walk down
the tree and return every region reached with: `code`, `level`, `depth` (0 for the root, 1
for its children, …) and `path`: the codes from the root down to the region, joined with
`' > '` (the root's path is just its code, e.g. `NL`; a city's is `NL > NL-AMS`). Order by
`path`.""",
    """WITH RECURSIVE tree AS (
    SELECT region_id, code, level, 0 AS depth, code AS path
    FROM regions
    WHERE parent_region_id IS NULL
    UNION ALL
    SELECT r.region_id, r.code, r.level, t.depth + 1, t.path || ' > ' || r.code
    FROM regions r
    JOIN tree t ON r.parent_region_id = t.region_id
)
SELECT code, level, depth, path
FROM tree
ORDER BY path""",
    "-- Your query here\nWITH RECURSIVE tree AS (\n    SELECT ...            -- the root\n    UNION ALL\n    SELECT ...            -- the children of the previous round's rows\n)\nSELECT code, level, depth, path\nFROM tree",
    [
        "Anchor: the root row with `0 AS depth` and its code as the path. Recursive step: join `regions` to the CTE on `r.parent_region_id = t.region_id`.",
        "In the recursive step: `t.depth + 1` and `t.path || ' > ' || r.code`.",
    ],
    [
        # depth counted from 1
        """WITH RECURSIVE tree AS (SELECT region_id, code, level, 1 AS depth, code AS path FROM regions WHERE parent_region_id IS NULL
UNION ALL SELECT r.region_id, r.code, r.level, t.depth + 1, t.path || ' > ' || r.code FROM regions r JOIN tree t ON r.parent_region_id = t.region_id)
SELECT code, level, depth, path FROM tree ORDER BY path""",
        # path built leaf first
        """WITH RECURSIVE tree AS (SELECT region_id, code, level, 0 AS depth, code AS path FROM regions WHERE parent_region_id IS NULL
UNION ALL SELECT r.region_id, r.code, r.level, t.depth + 1, r.code || ' > ' || t.path FROM regions r JOIN tree t ON r.parent_region_id = t.region_id)
SELECT code, level, depth, path FROM tree ORDER BY path""",
        # names instead of codes
        """WITH RECURSIVE tree AS (SELECT region_id, code, level, 0 AS depth, name AS path FROM regions WHERE parent_region_id IS NULL
UNION ALL SELECT r.region_id, r.code, r.level, t.depth + 1, t.path || ' > ' || r.name FROM regions r JOIN tree t ON r.parent_region_id = t.region_id)
SELECT code, level, depth, path FROM tree ORDER BY path""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.team-size",
    "A recursive CTE: everyone below each manager",
    """### Exercise 13: the size of every manager's team

`employees.manager_id` points at each person's manager. For every employee who manages at
least one person, return `employee_id`, `direct_reports` (people whose `manager_id` is this
employee) and `all_reports` (everyone below this employee, directly or indirectly, at any
depth; the employee does not count). Order by `all_reports` descending, then `employee_id`.""",
    """WITH RECURSIVE below AS (
    SELECT manager_id AS boss, employee_id
    FROM employees
    WHERE manager_id IS NOT NULL
    UNION ALL
    SELECT b.boss, e.employee_id
    FROM below b
    JOIN employees e ON e.manager_id = b.employee_id
)
SELECT boss AS employee_id,
       (SELECT count(*) FROM employees d WHERE d.manager_id = b.boss) AS direct_reports,
       count(*) AS all_reports
FROM below b
GROUP BY boss
ORDER BY all_reports DESC, employee_id""",
    "-- Your query here\nWITH RECURSIVE below AS (\n    SELECT ...\n    UNION ALL\n    SELECT ...\n)\nSELECT ...",
    [
        "Build all (manager, someone below) pairs: the anchor is every (manager_id, employee_id) pair; each round adds the reports of the people found in the previous round, keeping the original manager.",
        "Then GROUP BY the manager and count the pairs; the direct reports are the anchor pairs only (or a correlated count).",
    ],
    [
        # direct reports only, no recursion
        """SELECT manager_id AS employee_id, count(*) AS direct_reports, count(*) AS all_reports
FROM employees WHERE manager_id IS NOT NULL GROUP BY manager_id ORDER BY all_reports DESC, employee_id""",
        # the manager counted in their own team
        """WITH RECURSIVE below AS (SELECT employee_id AS boss, employee_id FROM employees
UNION ALL SELECT b.boss, e.employee_id FROM below b JOIN employees e ON e.manager_id = b.employee_id)
SELECT boss AS employee_id, (SELECT count(*) FROM employees d WHERE d.manager_id = b.boss) AS direct_reports,
count(*) AS all_reports FROM below b GROUP BY boss HAVING count(*) > 1 ORDER BY all_reports DESC, employee_id""",
        # two levels only
        """SELECT m.employee_id, count(DISTINCT d.employee_id) AS direct_reports,
count(DISTINCT d.employee_id) + count(DISTINCT dd.employee_id) AS all_reports
FROM employees m JOIN employees d ON d.manager_id = m.employee_id
LEFT JOIN employees dd ON dd.manager_id = d.employee_id
GROUP BY m.employee_id ORDER BY all_reports DESC, employee_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.city-of-region",
    "Walking up with a cycle guard",
    """### Exercise 14: which city is each zone and depot in? (with a cycle guard)

For every region of level `'zone'` or `'depot'`, walk **up** the parents and return `code`,
`city_code` (the code of the first region of level `'city'` met on the way up) and
`levels_up` (how many steps up that city is: 1 for a zone, 2 for a depot). A broken tree
(one of the edge-case datasets links two zones to each other) must not make the query loop:
stop a walk when it comes back to a region it has already visited; regions whose walk never
reaches a city get NULL in both columns. Order by `code`.""",
    """WITH RECURSIVE up AS (
    SELECT code AS start_code, region_id, parent_region_id, level, code, 0 AS steps
    FROM regions
    WHERE level IN ('zone', 'depot')
    UNION ALL
    SELECT u.start_code, p.region_id, p.parent_region_id, p.level, p.code, u.steps + 1
    FROM up u
    JOIN regions p ON p.region_id = u.parent_region_id
) CYCLE region_id SET is_cycle USING visited
SELECT start_code AS code,
       min(code) FILTER (WHERE level = 'city') AS city_code,
       min(steps) FILTER (WHERE level = 'city') AS levels_up
FROM up
GROUP BY start_code
ORDER BY code""",
    "-- Your query here\nWITH RECURSIVE up AS (\n    SELECT ...\n    UNION ALL\n    SELECT ...\n)\nSELECT ...",
    [
        "Start one walk per zone or depot (remember where it started), and join each row to its parent in the recursive step.",
        "Guard: `) CYCLE region_id SET is_cycle USING visited` after the CTE, or carry an array of visited ids and stop when the parent is already in it (`= ANY(...)`).",
        "Aggregate per start region: `min(code) FILTER (WHERE level = 'city')` keeps the regions whose walk found no city.",
    ],
    [
        # no cycle guard: loops forever on the broken tree (stopped by the timeout)
        """WITH RECURSIVE up AS (SELECT code AS start_code, region_id, parent_region_id, level, code, 0 AS steps
FROM regions WHERE level IN ('zone', 'depot')
UNION ALL SELECT u.start_code, p.region_id, p.parent_region_id, p.level, p.code, u.steps + 1
FROM up u JOIN regions p ON p.region_id = u.parent_region_id)
SELECT start_code AS code, min(code) FILTER (WHERE level = 'city') AS city_code,
min(steps) FILTER (WHERE level = 'city') AS levels_up FROM up GROUP BY start_code ORDER BY code""",
        # regions without a city dropped (filtered instead of kept with NULLs)
        """WITH RECURSIVE up AS (SELECT code AS start_code, region_id, parent_region_id, level, code, 0 AS steps
FROM regions WHERE level IN ('zone', 'depot')
UNION ALL SELECT u.start_code, p.region_id, p.parent_region_id, p.level, p.code, u.steps + 1
FROM up u JOIN regions p ON p.region_id = u.parent_region_id) CYCLE region_id SET is_cycle USING visited
SELECT start_code AS code, code AS city_code, steps AS levels_up FROM up WHERE level = 'city' ORDER BY code""",
        # steps counted from 1: one level too many
        """WITH RECURSIVE up AS (SELECT code AS start_code, region_id, parent_region_id, level, code, 1 AS steps
FROM regions WHERE level IN ('zone', 'depot')
UNION ALL SELECT u.start_code, p.region_id, p.parent_region_id, p.level, p.code, u.steps + 1
FROM up u JOIN regions p ON p.region_id = u.parent_region_id) CYCLE region_id SET is_cycle USING visited
SELECT start_code AS code, min(code) FILTER (WHERE level = 'city') AS city_code,
min(steps) FILTER (WHERE level = 'city') AS levels_up FROM up GROUP BY start_code ORDER BY code""",
    ],
    {"timeout": 3},
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.orders-with-lines",
    "One query instead of N+1: jsonb_agg",
    """### Exercise 15: orders with their lines, in one query

An API returns orders with their lines nested. Instead of one query per order (N+1), build
it in one query. For the orders of the customers with `customer_id <= 5`, return one row per
order: `order_id`, `item_count` (the sum of the lines' `quantity`) and `lines`: a `jsonb`
array with one object per order line, **in `line_no` order**, each object exactly
`{"product_id": …, "quantity": …, "unit_price": …}`. Order by `order_id`.""",
    """SELECT o.order_id,
       sum(l.quantity) AS item_count,
       jsonb_agg(jsonb_build_object('product_id', l.product_id,
                                    'quantity', l.quantity,
                                    'unit_price', l.unit_price) ORDER BY l.line_no) AS lines
FROM orders o
JOIN order_lines l ON l.order_id = o.order_id
WHERE o.customer_id <= 5
GROUP BY o.order_id
ORDER BY o.order_id""",
    "-- Your query here\nSELECT o.order_id\nFROM orders o\nJOIN order_lines l ON l.order_id = o.order_id\nWHERE o.customer_id <= 5\nGROUP BY o.order_id",
    [
        "Join the lines, GROUP BY the order, and aggregate the lines with `jsonb_agg(...)`.",
        "`jsonb_build_object('key', value, …)` makes each object; an aggregate accepts its own `ORDER BY` inside the parentheses.",
    ],
    [
        # objects carry every column of the line
        """SELECT o.order_id, sum(l.quantity) AS item_count, jsonb_agg(to_jsonb(l) ORDER BY l.line_no) AS lines
FROM orders o JOIN order_lines l ON l.order_id = o.order_id WHERE o.customer_id <= 5 GROUP BY o.order_id ORDER BY o.order_id""",
        # lines in product order
        """SELECT o.order_id, sum(l.quantity) AS item_count, jsonb_agg(jsonb_build_object('product_id', l.product_id,
'quantity', l.quantity, 'unit_price', l.unit_price) ORDER BY l.product_id DESC) AS lines
FROM orders o JOIN order_lines l ON l.order_id = o.order_id WHERE o.customer_id <= 5 GROUP BY o.order_id ORDER BY o.order_id""",
        # counts lines instead of items
        """SELECT o.order_id, count(*) AS item_count, jsonb_agg(jsonb_build_object('product_id', l.product_id,
'quantity', l.quantity, 'unit_price', l.unit_price) ORDER BY l.line_no) AS lines
FROM orders o JOIN order_lines l ON l.order_id = o.order_id WHERE o.customer_id <= 5 GROUP BY o.order_id ORDER BY o.order_id""",
    ],
)

# ---------------------------------------------------------------------------------------------
exercise(
    "p2.seven-day-average",
    "A 7-day average over a calendar with gaps",
    """### Exercise 16: a 7-day moving average that counts empty days

For each local day from `2025-06-01` to `2025-06-30`, return `day`, `delivered` (the number
of **delivered** orders placed that local day, 0 if none) and `avg_7d`: the average of
`delivered` over that day and the **six days before it** (seven calendar days; days without
orders count as 0; for the first days of June, the last days of May count too), rounded to
2 decimals. Order by `day`. All thirty days must be present, even on a day without orders.""",
    """WITH calendar AS (
    SELECT d::date AS day
    FROM generate_series(date '2025-05-26', date '2025-06-30', interval '1 day') AS d
),
per_day AS (
    SELECT (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day, count(*) AS delivered
    FROM orders
    WHERE status = 'delivered'
    GROUP BY day
),
series AS (
    SELECT c.day, coalesce(p.delivered, 0) AS delivered,
           round(avg(coalesce(p.delivered, 0)) OVER (ORDER BY c.day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 2) AS avg_7d
    FROM calendar c
    LEFT JOIN per_day p USING (day)
)
SELECT day, delivered, avg_7d
FROM series
WHERE day >= date '2025-06-01'
ORDER BY day""",
    "-- Your query here\nWITH calendar AS (\n    SELECT d::date AS day\n    FROM generate_series(date '2025-06-01', date '2025-06-30', interval '1 day') AS d\n)\nSELECT ...",
    [
        "Days without orders have no rows: make one row per day with `generate_series`, and LEFT JOIN the daily counts to it (`coalesce(…, 0)`).",
        "Seven rows = `ROWS BETWEEN 6 PRECEDING AND CURRENT ROW`. Windows are computed after WHERE: keep the last days of May in the input, and filter June in an outer query.",
    ],
    [
        # off by one: eight days
        """WITH calendar AS (SELECT d::date AS day FROM generate_series(date '2025-05-26', date '2025-06-30', interval '1 day') AS d),
per_day AS (SELECT (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day, count(*) AS delivered FROM orders WHERE status = 'delivered' GROUP BY day),
series AS (SELECT c.day, coalesce(p.delivered, 0) AS delivered,
round(avg(coalesce(p.delivered, 0)) OVER (ORDER BY c.day ROWS BETWEEN 7 PRECEDING AND CURRENT ROW), 2) AS avg_7d
FROM calendar c LEFT JOIN per_day p USING (day))
SELECT day, delivered, avg_7d FROM series WHERE day >= date '2025-06-01' ORDER BY day""",
        # June filtered before the window: the first days average fewer than seven days
        """WITH calendar AS (SELECT d::date AS day FROM generate_series(date '2025-06-01', date '2025-06-30', interval '1 day') AS d),
per_day AS (SELECT (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day, count(*) AS delivered FROM orders WHERE status = 'delivered' GROUP BY day)
SELECT c.day, coalesce(p.delivered, 0) AS delivered,
round(avg(coalesce(p.delivered, 0)) OVER (ORDER BY c.day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 2) AS avg_7d
FROM calendar c LEFT JOIN per_day p USING (day) ORDER BY day""",
        # no calendar: RANGE over the days that have orders; empty days are missing and not counted as 0
        """WITH per_day AS (SELECT (placed_at AT TIME ZONE 'Europe/Amsterdam')::date AS day, count(*) AS delivered FROM orders WHERE status = 'delivered' GROUP BY day),
series AS (SELECT day, delivered, round(avg(delivered) OVER (ORDER BY day RANGE BETWEEN INTERVAL '6 days' PRECEDING AND CURRENT ROW), 2) AS avg_7d FROM per_day)
SELECT day, delivered, avg_7d FROM series WHERE day BETWEEN date '2025-06-01' AND date '2025-06-30' ORDER BY day""",
    ],
)


def build() -> nbformat.NotebookNode:
    nb = new_lab("p2", "Window functions and CTEs", intro=INTRO)
    nb.cells.append(new_code_cell("import dbdojo as dojo"))
    for ex in EXERCISES:
        nb.cells += exercise_cells(
            ex["id"],
            ex["title"],
            kind="sql",
            prompt=ex["prompt"],
            reference=ex["reference"],
            starter=ex["starter"],
            hints=ex["hints"],
            wrong=ex["wrong"],
            options=ex["options"] or None,
        )
    nb.cells.append(new_markdown_cell(OUTRO))
    return nb


OUTRO = """## Done

`dojo progress` shows your score for this lab. If an exercise resisted, the notebook's
sections map to the exercises: CTEs (1, 7), ranking (2, 3, 9), LAG/LEAD (4, 7, 11), frames
(5, 6, 8, 16), LATERAL (10), recursive CTEs and cycle guards (12-14), N+1 and `jsonb_agg` (15).
"""

if __name__ == "__main__":
    nbformat.write(build(), OUT)
    print(f"wrote {OUT}: {len(EXERCISES)} exercises")
