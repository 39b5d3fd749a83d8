// node-pg (npm `pg`) against `abacus serve`: simple queries, parameterized queries whose
// parameters carry no type OIDs (the server infers them), NULLs and SQLSTATEs in err.code.
// Run by tests/it/server_clients.rs as: node pg_basic.js PORT   (tables np_orders prepared by psql)
'use strict';

let pg;
try {
  pg = require('pg');
} catch (e) {
  console.error('node-pg is missing: run ./scripts/test (or cd tests/clients/node && npm ci)');
  process.exit(2);
}

const port = Number(process.argv[2]);
const failures = [];

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// node-pg's defaults: int8 and numeric as strings, date as a local Date; compare dates as text.
pg.types.setTypeParser(1082, (v) => v);

async function section(name, client, fn) {
  try {
    await fn();
  } catch (e) {
    failures.push(`${name}: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
    if (client) {
      try {
        await client.query('ROLLBACK');
      } catch (_) {
        // not in a transaction
      }
    }
  }
}

async function main() {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'abacus',
    database: 'abacus',
    ssl: false,
    connectionTimeoutMillis: 20000,
    query_timeout: 60000,
  });
  await client.connect();

  await section('simple query', client, async () => {
    const r = await client.query('SELECT id, customer, amount FROM np_orders ORDER BY id');
    check(r.command === 'SELECT' && r.rowCount === 3, `command/rowCount: ${r.command} ${r.rowCount}`);
    check(
      JSON.stringify(r.fields.map((f) => f.name)) === '["id","customer","amount"]',
      `field names: ${r.fields.map((f) => f.name)}`,
    );
    check(
      JSON.stringify(r.fields.map((f) => f.dataTypeID)) === '[23,1043,1700]' ||
        JSON.stringify(r.fields.map((f) => f.dataTypeID)) === '[23,25,1700]',
      `field type OIDs (int4, varchar|text, numeric): ${r.fields.map((f) => f.dataTypeID)}`,
    );
    check(
      JSON.stringify(r.rows) ===
        JSON.stringify([
          { id: 1, customer: 'anna', amount: '10.50' },
          { id: 2, customer: 'boris', amount: '99.99' },
          { id: 3, customer: null, amount: null },
        ]),
      `rows: ${JSON.stringify(r.rows)}`,
    );
    const n = await client.query('SELECT count(*) AS n FROM np_orders');
    check(n.fields[0].dataTypeID === 20 && n.rows[0].n === '3', `count(*) is int8 '3': ${JSON.stringify(n.rows)} ${n.fields[0].dataTypeID}`);
    // An integer literal is int4 in PostgreSQL (node-pg returns a number for int4, a string for int8).
    const two = await client.query('SELECT 1 + 1 AS two');
    check(two.rows[0].two === 2, `SELECT 1 + 1 (int4 23): ${JSON.stringify(two.rows)} type ${two.fields[0].dataTypeID}`);
  });

  await section('multi-statement simple query', client, async () => {
    const results = await client.query("SET application_name = 'node-pg-test'; SELECT 42 AS answer");
    check(Array.isArray(results) && results.length === 2, `two results: ${JSON.stringify(results && results.length)}`);
    check(results[0].command === 'SET', `first command: ${results[0].command}`);
    check(results[1].rows[0].answer === 42, `second result (42 is int4 23): ${JSON.stringify(results[1].rows)} type ${results[1].fields[0].dataTypeID}`);
  });

  await section('parameterized query ($1 int, $2 text; no type OIDs)', client, async () => {
    const r = await client.query('SELECT id, customer FROM np_orders WHERE id >= $1 AND customer = $2 ORDER BY id', [2, 'boris']);
    check(JSON.stringify(r.rows) === JSON.stringify([{ id: 2, customer: 'boris' }]), `rows: ${JSON.stringify(r.rows)}`);
    const r2 = await client.query('SELECT id FROM np_orders WHERE id > $1 ORDER BY id', ['1']);
    check(JSON.stringify(r2.rows.map((x) => x.id)) === '[2,3]', `string '1' for an int column: ${JSON.stringify(r2.rows)}`);
  });

  await section('parameterized query ($1 int, $2 date; D7)', client, async () => {
    const r = await client.query(
      'SELECT id, ordered_on, amount FROM np_orders WHERE id = $1 AND ordered_on >= $2',
      [1, '2024-01-01'],
    );
    check(
      JSON.stringify(r.rows) === JSON.stringify([{ id: 1, ordered_on: '2024-01-05', amount: '10.50' }]),
      `rows: ${JSON.stringify(r.rows)}`,
    );
    const r2 = await client.query('SELECT count(*) AS n FROM np_orders WHERE amount > $1', [50]);
    check(r2.rows[0].n === '1', `numeric comparison: ${JSON.stringify(r2.rows)}`);
  });

  await section('parameter used as a value ($1 + 1)', client, async () => {
    const r = await client.query('SELECT $1::int + 1 AS x', [41]);
    check(r.rows[0].x === 42, `$1::int + 1: ${JSON.stringify(r.rows)} types ${r.fields.map((f) => f.dataTypeID)}`);
  });

  await section('NULLs', client, async () => {
    const r = await client.query('SELECT customer, amount FROM np_orders WHERE id = $1', [3]);
    check(JSON.stringify(r.rows) === '[{"customer":null,"amount":null}]', `NULL columns: ${JSON.stringify(r.rows)}`);
    // A NULL parameter followed by a non-NULL one: the second must not shift into the first.
    const r2 = await client.query('SELECT $1::text IS NULL AS a_null, $2::text AS b', [null, 'bee']);
    check(JSON.stringify(r2.rows) === '[{"a_null":true,"b":"bee"}]', `NULL parameter: ${JSON.stringify(r2.rows)}`);
    const r3 = await client.query('SELECT count(*) AS n FROM np_orders WHERE customer IS NOT DISTINCT FROM $1', [null]);
    check(r3.rows[0].n === '1', `IS NOT DISTINCT FROM NULL parameter: ${JSON.stringify(r3.rows)}`);
  });

  await section('INSERT with parameters', client, async () => {
    const r = await client.query('INSERT INTO np_orders VALUES ($1, $2, $3, $4)', [4, 'dora', '2024-06-01', '7.77']);
    check(r.command === 'INSERT' && r.rowCount === 1, `INSERT tag: ${r.command} ${r.rowCount}`);
    const c = await client.query('SELECT customer, ordered_on, amount FROM np_orders WHERE id = $1', [4]);
    check(
      JSON.stringify(c.rows) === '[{"customer":"dora","ordered_on":"2024-06-01","amount":"7.77"}]',
      `inserted row: ${JSON.stringify(c.rows)}`,
    );
  });

  await section('errors carry err.code', client, async () => {
    let err = null;
    try {
      await client.query('SELECT * FROM no_such_table');
    } catch (e) {
      err = e;
    }
    check(err && err.code === '42P01', `unknown table: ${err && err.code} ${err && err.message}`);
    err = null;
    try {
      await client.query('SELECT nope FROM np_orders WHERE id = $1', [1]);
    } catch (e) {
      err = e;
    }
    check(err && err.code === '42703', `unknown column (extended): ${err && err.code} ${err && err.message}`);
    err = null;
    try {
      await client.query('SELEC 1');
    } catch (e) {
      err = e;
    }
    check(err && err.code === '42601', `syntax error: ${err && err.code} ${err && err.message}`);
    err = null;
    try {
      await client.query('SELECT 1 / $1::int AS x', [0]);
    } catch (e) {
      err = e;
    }
    check(err && err.code === '22012', `division by zero: ${err && err.code} ${err && err.message}`);
    const r = await client.query('SELECT id FROM np_orders WHERE id = $1', [2]);
    check(JSON.stringify(r.rows) === '[{"id":2}]', `usable after errors: ${JSON.stringify(r.rows)}`);
  });

  await section('transaction with a failure (25P02)', client, async () => {
    await client.query('BEGIN');
    let err = null;
    try {
      await client.query('SELECT * FROM no_such_table');
    } catch (e) {
      err = e;
    }
    check(err && err.code === '42P01', `error in transaction: ${err && err.code}`);
    err = null;
    try {
      await client.query('SELECT 1');
    } catch (e) {
      err = e;
    }
    check(err && err.code === '25P02', `statement after the failure: ${err && err.code}`);
    const rb = await client.query('ROLLBACK');
    check(rb.command === 'ROLLBACK', `ROLLBACK tag: ${rb.command}`);
    const r = await client.query('SELECT $1::text AS s', ['fine']);
    check(r.rows[0].s === 'fine', `after ROLLBACK: ${JSON.stringify(r.rows)}`);
  });

  await client.end();
}

main()
  .then(() => {
    if (failures.length) {
      console.error(`node-pg against abacus serve failed:\n- ${failures.join('\n- ')}`);
      process.exit(1);
    }
    console.log('ok');
  })
  .catch((e) => {
    console.error(`node-pg against abacus serve failed: ${e.code ? `[${e.code}] ` : ''}${e.stack || e}`);
    process.exit(1);
  });
