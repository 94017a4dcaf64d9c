#include "mpsim/sweep/Sqlite.hpp"

#include <stdexcept>

#include <sqlite3.h>

namespace mpsim::sweep {

Database::Database(const std::string& path) : m_path(path) {
  if (sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
    sqlite3_close(m_db);
    m_db = nullptr;
    throw std::runtime_error(path + ": cannot open the database: " + msg);
  }
  sqlite3_busy_timeout(m_db, 10000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL"); // WAL + NORMAL: a committed transaction survives a killed process
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close(m_db);
    m_db = nullptr;
    throw;
  }
}

Database::~Database() {
  if (m_db) sqlite3_close_v2(m_db);
}

void Database::fail(const std::string& what) const {
  throw std::runtime_error(m_path + ": " + what + ": " + sqlite3_errmsg(m_db));
}

void Database::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(m_path + ": " + msg + " (in: " + sql.substr(0, 80) + ")");
  }
}

Statement Database::prepare(const std::string& sql) { return Statement(*this, sql); }
int64_t Database::lastInsertId() const { return sqlite3_last_insert_rowid(m_db); }
int Database::changes() const { return sqlite3_changes(m_db); }

Statement::Statement(Database& db, const std::string& sql) : m_db(&db) {
  if (sqlite3_prepare_v2(db.m_db, sql.c_str(), int(sql.size()), &m_st, nullptr) != SQLITE_OK)
    db.fail("cannot prepare '" + sql.substr(0, 80) + "'");
}

Statement::~Statement() {
  if (m_st) sqlite3_finalize(m_st);
}

Statement::Statement(Statement&& o) noexcept : m_db(o.m_db), m_st(o.m_st) { o.m_st = nullptr; }

Statement& Statement::bind(int i, int64_t v) {
  if (sqlite3_bind_int64(m_st, i, v) != SQLITE_OK) m_db->fail("bind");
  return *this;
}
Statement& Statement::bind(int i, double v) {
  if (sqlite3_bind_double(m_st, i, v) != SQLITE_OK) m_db->fail("bind");
  return *this;
}
Statement& Statement::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(m_st, i, v.data(), int(v.size()), SQLITE_TRANSIENT) != SQLITE_OK) m_db->fail("bind");
  return *this;
}
Statement& Statement::bindNull(int i) {
  if (sqlite3_bind_null(m_st, i) != SQLITE_OK) m_db->fail("bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(m_st);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  m_db->fail("step");
}

void Statement::run() {
  while (step()) {}
  reset();
}

void Statement::reset() {
  sqlite3_reset(m_st);
  sqlite3_clear_bindings(m_st);
}

int Statement::columns() const { return sqlite3_column_count(m_st); }
bool Statement::isNull(int col) const { return sqlite3_column_type(m_st, col) == SQLITE_NULL; }
int64_t Statement::getInt(int col) const { return sqlite3_column_int64(m_st, col); }
double Statement::getDouble(int col) const { return sqlite3_column_double(m_st, col); }
std::string Statement::getText(int col) const {
  const unsigned char* t = sqlite3_column_text(m_st, col);
  return t ? std::string(reinterpret_cast<const char*>(t), size_t(sqlite3_column_bytes(m_st, col))) : std::string();
}
std::string Statement::columnName(int col) const { return sqlite3_column_name(m_st, col); }
int Statement::type(int col) const { return sqlite3_column_type(m_st, col); }

Transaction::Transaction(Database& db) : m_db(db) { m_db.exec("BEGIN IMMEDIATE"); }
Transaction::~Transaction() {
  if (!m_done) {
    try {
      m_db.exec("ROLLBACK");
    } catch (...) {}
  }
}
void Transaction::commit() {
  m_db.exec("COMMIT");
  m_done = true;
}

std::string quoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

} // namespace mpsim::sweep
