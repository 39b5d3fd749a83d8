// pgjdbc (Debian's libpostgresql-jdbc-java) against `abacus serve`: DatabaseMetaData, typed
// PreparedStatement binds, fetch size with autocommit off (Execute row limit + PortalSuspended)
// and Statement.setMaxRows. Run by tests/it/server_clients.rs as
//   java -cp /usr/share/java/postgresql.jar JdbcBasic.java PORT
// after psql created schema jd with table jd.orders (5 rows).

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public class JdbcBasic {
    interface Section {
        void run(Connection conn) throws Exception;
    }

    static final List<String> failures = new ArrayList<>();

    static void check(boolean cond, String message) {
        if (!cond) {
            throw new AssertionError(message);
        }
    }

    static void section(Connection conn, String name, Section body) {
        try {
            body.run(conn);
        } catch (Throwable e) {
            String state = e instanceof SQLException ? " [SQLSTATE " + ((SQLException) e).getSQLState() + "]" : "";
            failures.add(name + ": " + e.getClass().getSimpleName() + state + ": " + e.getMessage());
            try {
                if (!conn.isClosed() && !conn.getAutoCommit()) {
                    conn.rollback();
                }
                if (!conn.isClosed()) {
                    conn.setAutoCommit(true);
                }
            } catch (SQLException ignored) {
                // reported above
            }
        }
    }

    static List<Map<String, Object>> rows(ResultSet rs) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        ResultSetMetaData md = rs.getMetaData();
        while (rs.next()) {
            Map<String, Object> row = new HashMap<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                row.put(md.getColumnLabel(i).toUpperCase(), rs.getObject(i));
            }
            out.add(row);
        }
        rs.close();
        return out;
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/abacus";
        Properties props = new Properties();
        props.setProperty("user", "abacus");
        props.setProperty("password", "");
        props.setProperty("sslmode", "disable");
        props.setProperty("connectTimeout", "20");
        props.setProperty("socketTimeout", "60");
        try (Connection conn = DriverManager.getConnection(url, props)) {
            section(conn, "connection", JdbcBasic::connection);
            section(conn, "getSchemas", JdbcBasic::getSchemas);
            section(conn, "getTables", JdbcBasic::getTables);
            section(conn, "getColumns", JdbcBasic::getColumns);
            section(conn, "getPrimaryKeys", JdbcBasic::getPrimaryKeys);
            section(conn, "getTypeInfo", JdbcBasic::getTypeInfo);
            section(conn, "PreparedStatement setInt/setString/setBigDecimal/setDate", JdbcBasic::preparedStatement);
            section(conn, "PreparedStatement reused past prepareThreshold (named, binary)", JdbcBasic::preparedStatementReused);
            section(conn, "setFetchSize(2) with autocommit off", JdbcBasic::fetchSize);
            section(conn, "Statement.setMaxRows", JdbcBasic::maxRows);
            section(conn, "errors", JdbcBasic::errors);
        }
        if (!failures.isEmpty()) {
            System.err.println("pgjdbc against abacus serve failed:\n- " + String.join("\n- ", failures));
            System.exit(1);
        }
        System.out.println("ok");
    }

    static void connection(Connection conn) throws Exception {
        DatabaseMetaData md = conn.getMetaData();
        check(md.getDatabaseProductName().equals("PostgreSQL"), "product " + md.getDatabaseProductName());
        check(md.getDatabaseMajorVersion() >= 12, "server version " + md.getDatabaseProductVersion());
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1 AS one")) {
            check(rs.next() && rs.getInt(1) == 1, "SELECT 1");
        }
        check(conn.getTransactionIsolation() == Connection.TRANSACTION_READ_COMMITTED,
                "getTransactionIsolation: " + conn.getTransactionIsolation());
    }

    static void getSchemas(Connection conn) throws Exception {
        List<Map<String, Object>> schemas = rows(conn.getMetaData().getSchemas());
        List<Object> names = new ArrayList<>();
        for (Map<String, Object> r : schemas) {
            names.add(r.get("TABLE_SCHEM"));
        }
        check(names.contains("public") && names.contains("jd"), "getSchemas() lists public and jd: " + names);
        List<Map<String, Object>> filtered = rows(conn.getMetaData().getSchemas(null, "j%"));
        check(filtered.size() == 1 && "jd".equals(filtered.get(0).get("TABLE_SCHEM")),
                "getSchemas(null, \"j%\"): " + filtered);
    }

    static void getTables(Connection conn) throws Exception {
        List<Map<String, Object>> tables = rows(conn.getMetaData().getTables(null, "jd", "%", new String[] {"TABLE"}));
        check(tables.size() == 1, "getTables(null, \"jd\", \"%\", {TABLE}): " + tables);
        Map<String, Object> t = tables.get(0);
        check("jd".equals(t.get("TABLE_SCHEM")) && "orders".equals(t.get("TABLE_NAME"))
                && "TABLE".equals(t.get("TABLE_TYPE")), "table row: " + t);
        List<Map<String, Object>> all = rows(conn.getMetaData().getTables(null, null, "ord%", null));
        check(all.size() == 1 && "orders".equals(all.get(0).get("TABLE_NAME")), "getTables(null, null, \"ord%\", null): " + all);
    }

    static void getColumns(Connection conn) throws Exception {
        List<Map<String, Object>> cols = rows(conn.getMetaData().getColumns(null, "jd", "orders", "%"));
        String[][] expected = {
            // name, TYPE_NAME, java.sql.Types, NULLABLE
            {"id", "int4", String.valueOf(Types.INTEGER), String.valueOf(DatabaseMetaData.columnNoNulls)},
            // Abacus stores VARCHAR as text (a Delta string column); JDBC still sees Types.VARCHAR.
            {"customer", "text", String.valueOf(Types.VARCHAR), String.valueOf(DatabaseMetaData.columnNullable)},
            {"amount", "numeric", String.valueOf(Types.NUMERIC), String.valueOf(DatabaseMetaData.columnNullable)},
            {"ordered_on", "date", String.valueOf(Types.DATE), String.valueOf(DatabaseMetaData.columnNullable)},
            {"paid", "bool", String.valueOf(Types.BIT), String.valueOf(DatabaseMetaData.columnNullable)},
            {"at", "timestamp", String.valueOf(Types.TIMESTAMP), String.valueOf(DatabaseMetaData.columnNullable)},
        };
        check(cols.size() == expected.length, "getColumns(null, \"jd\", \"orders\", \"%\") gives " + cols.size() + " columns: " + cols);
        // Every mismatch at once (name,TYPE_NAME,DATA_TYPE,NULLABLE,pos).
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < expected.length; i++) {
            Map<String, Object> c = cols.get(i);
            String got = c.get("COLUMN_NAME") + "," + c.get("TYPE_NAME") + "," + c.get("DATA_TYPE") + "," + c.get("NULLABLE")
                    + ",pos=" + c.get("ORDINAL_POSITION");
            String want = String.join(",", expected[i]) + ",pos=" + (i + 1);
            if (!got.equals(want)) {
                wrong.add("column " + (i + 1) + ": got " + got + ", expected " + want);
            }
        }
        Map<String, Object> amount = cols.get(2);
        if (!(Integer.valueOf(10).equals(amount.get("COLUMN_SIZE")) && Integer.valueOf(2).equals(amount.get("DECIMAL_DIGITS")))) {
            wrong.add("DECIMAL(10,2) COLUMN_SIZE/DECIMAL_DIGITS: got " + amount.get("COLUMN_SIZE") + "/" + amount.get("DECIMAL_DIGITS")
                    + ", expected 10/2 (atttypmod 655366)");
        }
        if (!("NO".equals(cols.get(0).get("IS_NULLABLE")) && "YES".equals(cols.get(1).get("IS_NULLABLE")))) {
            wrong.add("IS_NULLABLE: " + cols.get(0).get("IS_NULLABLE") + "/" + cols.get(1).get("IS_NULLABLE") + ", expected NO/YES");
        }
        check(wrong.isEmpty(), String.join("; ", wrong));
    }

    static void getPrimaryKeys(Connection conn) throws Exception {
        // Abacus tables have no primary key: PostgreSQL answers an empty result, not an error.
        List<Map<String, Object>> pks = rows(conn.getMetaData().getPrimaryKeys(null, "jd", "orders"));
        check(pks.isEmpty(), "getPrimaryKeys(null, \"jd\", \"orders\"): " + pks);
    }

    static void getTypeInfo(Connection conn) throws Exception {
        Map<String, Integer> types = new HashMap<>();
        try (ResultSet rs = conn.getMetaData().getTypeInfo()) {
            while (rs.next()) {
                types.put(rs.getString("TYPE_NAME"), rs.getInt("DATA_TYPE"));
            }
        }
        String[][] expected = {
            {"int4", String.valueOf(Types.INTEGER)}, {"int8", String.valueOf(Types.BIGINT)},
            {"text", String.valueOf(Types.VARCHAR)}, {"varchar", String.valueOf(Types.VARCHAR)},
            {"numeric", String.valueOf(Types.NUMERIC)}, {"date", String.valueOf(Types.DATE)},
            {"bool", String.valueOf(Types.BIT)}, {"timestamp", String.valueOf(Types.TIMESTAMP)},
            {"float8", String.valueOf(Types.DOUBLE)},
        };
        for (String[] e : expected) {
            check(String.valueOf(types.get(e[0])).equals(e[1]),
                    "getTypeInfo " + e[0] + " -> " + types.get(e[0]) + " (expected " + e[1] + "); " + types.size() + " types");
        }
    }

    static final String ORDERS_QUERY = "SELECT id, customer, amount, ordered_on, paid, at FROM jd.orders "
            + "WHERE id >= ? AND customer = ? AND amount > ? AND ordered_on >= ? ORDER BY id";

    static void preparedStatement(Connection conn) throws Exception {
        try (PreparedStatement ps = conn.prepareStatement(ORDERS_QUERY)) {
            ps.setInt(1, 1);
            ps.setString(2, "anna");
            ps.setBigDecimal(3, new BigDecimal("5.00"));
            ps.setDate(4, Date.valueOf("2024-01-01"));
            try (ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                String types = md.getColumnTypeName(1) + "," + md.getColumnTypeName(2) + "," + md.getColumnTypeName(3) + ","
                        + md.getColumnTypeName(4) + "," + md.getColumnTypeName(5) + "," + md.getColumnTypeName(6);
                check(types.equals("int4,varchar,numeric,date,bool,timestamp") || types.equals("int4,text,numeric,date,bool,timestamp"),
                        "result column types: " + types);
                check(rs.next(), "first row");
                check(rs.getInt("id") == 1 && rs.getString("customer").equals("anna")
                        && rs.getBigDecimal("amount").equals(new BigDecimal("10.50"))
                        && rs.getDate("ordered_on").equals(Date.valueOf("2024-01-05")) && rs.getBoolean("paid")
                        && rs.getTimestamp("at").equals(Timestamp.valueOf("2024-01-05 10:00:00")),
                        "row 1: " + rs.getObject(1) + " " + rs.getObject(2) + " " + rs.getObject(3) + " " + rs.getObject(4) + " "
                                + rs.getObject(5) + " " + rs.getObject(6));
                check(rs.next() && rs.getInt("id") == 3 && rs.getBigDecimal("amount").equals(new BigDecimal("250.00")), "row 3");
                check(!rs.next(), "exactly two rows");
            }
            // The same statement with other values, and a NULL.
            ps.setInt(1, 4);
            ps.setString(2, "carl");
            ps.setBigDecimal(3, new BigDecimal("0"));
            ps.setDate(4, Date.valueOf("2024-04-20"));
            try (ResultSet rs = ps.executeQuery()) {
                check(rs.next() && rs.getInt(1) == 4, "carl's row");
                rs.getBoolean("paid");
                check(rs.wasNull(), "paid is NULL");
                check(rs.getTimestamp("at") == null, "at is NULL");
            }
        }
    }

    static void preparedStatementReused(Connection conn) throws Exception {
        // pgjdbc switches to a named server statement after prepareThreshold (5) executions and
        // then asks for binary results.
        try (PreparedStatement ps = conn.prepareStatement(ORDERS_QUERY)) {
            for (int i = 0; i < 8; i++) {
                ps.setInt(1, 1);
                ps.setString(2, "anna");
                ps.setBigDecimal(3, new BigDecimal("5.00"));
                ps.setDate(4, Date.valueOf("2024-01-01"));
                List<String> got = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        got.add(rs.getInt(1) + "/" + rs.getBigDecimal(3) + "/" + rs.getDate(4) + "/" + rs.getBoolean(5) + "/"
                                + rs.getTimestamp(6));
                    }
                }
                check(got.equals(List.of("1/10.50/2024-01-05/true/2024-01-05 10:00:00.0", "3/250.00/2024-03-15/true/2024-03-15 12:00:00.0")),
                        "execution " + (i + 1) + ": " + got);
            }
        }
    }

    static void fetchSize(Connection conn) throws Exception {
        conn.setAutoCommit(false);
        try (Statement st = conn.createStatement()) {
            st.setFetchSize(2);
            List<Integer> ids = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT id FROM jd.orders ORDER BY id")) {
                while (rs.next()) {
                    ids.add(rs.getInt(1));
                }
            }
            check(ids.equals(List.of(1, 2, 3, 4, 5)), "all rows through a 2-row fetch size: " + ids);
            long sum = 0;
            int n = 0;
            try (ResultSet rs = st.executeQuery("SELECT value FROM generate_series(1, 1001) ORDER BY value")) {
                while (rs.next()) {
                    sum += rs.getLong(1);
                    n++;
                }
            }
            check(n == 1001 && sum == 1001L * 1002 / 2, "generate_series through a 2-row fetch size: " + n + " rows, sum " + sum);
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, customer FROM jd.orders WHERE id > ? ORDER BY id")) {
            ps.setFetchSize(2);
            ps.setInt(1, 1);
            List<Integer> ids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getInt(1));
                }
            }
            check(ids.equals(List.of(2, 3, 4, 5)), "prepared statement with fetch size 2: " + ids);
        }
        conn.commit();
        conn.setAutoCommit(true);
    }

    static void maxRows(Connection conn) throws Exception {
        try (Statement st = conn.createStatement()) {
            st.setMaxRows(3);
            List<Integer> ids = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT id FROM jd.orders ORDER BY id")) {
                while (rs.next()) {
                    ids.add(rs.getInt(1));
                }
            }
            check(ids.equals(List.of(1, 2, 3)), "setMaxRows(3): " + ids);
            // The connection is fine after a suspended portal.
            st.setMaxRows(0);
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM jd.orders")) {
                check(rs.next() && rs.getLong(1) == 5, "count after setMaxRows");
            }
        }
    }

    static void errors(Connection conn) throws Exception {
        try (Statement st = conn.createStatement()) {
            try {
                st.executeQuery("SELECT * FROM jd.no_such_table");
                throw new AssertionError("expected 42P01");
            } catch (SQLException e) {
                check("42P01".equals(e.getSQLState()), "unknown table SQLSTATE " + e.getSQLState() + ": " + e.getMessage());
            }
            try (ResultSet rs = st.executeQuery("SELECT 2")) {
                check(rs.next() && rs.getInt(1) == 2, "usable after an error");
            }
        }
    }
}
