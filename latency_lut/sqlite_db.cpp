#include "latency_lut/sqlite_db.h"

#include <sqlite3.h>

#include "common/error.h"

namespace dnas {

SqliteDb::SqliteDb(const std::string& path, bool create) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(path + ": cannot open database (" + message + ")");
  }
  sqlite3_busy_timeout(db_, 60000);
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

void SqliteDb::fail(const std::string& what) const {
  throw Error(path_ + ": " + what + " (" + sqlite3_errmsg(db_) + ")");
}

void SqliteDb::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(path_ + ": " + text);
  }
}

SqliteStatement SqliteDb::prepare(const std::string& sql) { return SqliteStatement(*this, sql); }

int64_t SqliteDb::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

bool SqliteDb::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

SqliteStatement::SqliteStatement(SqliteDb& db, const std::string& sql) : db_(&db) {
  if (sqlite3_prepare_v2(db.db_, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) db.fail("cannot prepare query");
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) db_->fail("cannot bind parameter");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) db_->fail("cannot bind parameter");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, const std::string& value) {
  if (sqlite3_bind_text(stmt_, index, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    db_->fail("cannot bind parameter");
  return *this;
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail("query failed");
}

void SqliteStatement::run() {
  while (step()) {
  }
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t SqliteStatement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
double SqliteStatement::column_double(int index) const { return sqlite3_column_double(stmt_, index); }
bool SqliteStatement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
bool SqliteStatement::column_is_number(int index) const {
  const int type = sqlite3_column_type(stmt_, index);
  return type == SQLITE_INTEGER || type == SQLITE_FLOAT;
}
std::string SqliteStatement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  return text ? reinterpret_cast<const char*>(text) : "";
}

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db), nested_(db.in_transaction()) {
  db_.exec(nested_ ? "SAVEPOINT dnas_nested" : "BEGIN IMMEDIATE");
}

SqliteTransaction::~SqliteTransaction() {
  if (!done_) {
    try {
      db_.exec(nested_ ? "ROLLBACK TO dnas_nested; RELEASE dnas_nested" : "ROLLBACK");
    } catch (...) {
    }
  }
}

void SqliteTransaction::commit() {
  db_.exec(nested_ ? "RELEASE dnas_nested" : "COMMIT");
  done_ = true;
}

}  // namespace dnas
