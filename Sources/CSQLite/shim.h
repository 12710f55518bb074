// The system SQLite (Debian's libsqlite3-dev: sqlite3.h, libsqlite3.so and
// the libsqlite3.a a static build links), for PortcullisStore only.
#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, a macro Swift
// cannot import: SQLite copies the bound bytes before the call returns.
static inline sqlite3_destructor_type csqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

// sqlite3_db_config is variadic, which Swift cannot call. Double-quoted
// string literals off: a misspelt column name is an error, not a string
// (as the store's former SQLite library configured every connection).
static inline int csqlite_disable_double_quoted_strings(sqlite3 *db) {
    int a = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)0);
    int b = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)0);
    return a != SQLITE_OK ? a : b;
}

#endif
