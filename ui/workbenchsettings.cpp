#include "workbenchsettings.h"

#include <QDir>
#include <QSettings>

namespace droplora::ui {

QStringList WorkbenchSettings::recentList(const QString& key) {
    return QSettings().value(key).toStringList();
}

void WorkbenchSettings::addRecent(const QString& key, const QString& value) {
    if (value.isEmpty()) return;
    const QString clean = QDir::cleanPath(value);
    QStringList list = recentList(key);
    list.removeAll(clean);
    list.prepend(clean);
    while (list.size() > kMaxRecent) list.removeLast();
    QSettings().setValue(key, list);
}

QStringList WorkbenchSettings::recentRunFiles() { return recentList(QStringLiteral("recent/runFiles")); }
void WorkbenchSettings::addRecentRunFile(const QString& path) { addRecent(QStringLiteral("recent/runFiles"), path); }
QStringList WorkbenchSettings::recentRuns() { return recentList(QStringLiteral("recent/runs")); }
void WorkbenchSettings::addRecentRun(const QString& dir) { addRecent(QStringLiteral("recent/runs"), dir); }
QStringList WorkbenchSettings::recentModels() { return recentList(QStringLiteral("recent/models")); }
void WorkbenchSettings::addRecentModel(const QString& dir) { addRecent(QStringLiteral("recent/models"), dir); }

QString WorkbenchSettings::runsRoot() { return QSettings().value(QStringLiteral("runs/root")).toString(); }
void WorkbenchSettings::setRunsRoot(const QString& dir) { QSettings().setValue(QStringLiteral("runs/root"), dir); }

QString WorkbenchSettings::lastFolder(const QString& kind) {
    return QSettings().value(QStringLiteral("folders/") + kind).toString();
}

void WorkbenchSettings::setLastFolder(const QString& kind, const QString& dir) {
    if (!dir.isEmpty()) QSettings().setValue(QStringLiteral("folders/") + kind, dir);
}

QByteArray WorkbenchSettings::windowGeometry() { return QSettings().value(QStringLiteral("window/geometry")).toByteArray(); }
QByteArray WorkbenchSettings::windowState() { return QSettings().value(QStringLiteral("window/state")).toByteArray(); }

void WorkbenchSettings::setWindow(const QByteArray& geometry, const QByteArray& state) {
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), geometry);
    s.setValue(QStringLiteral("window/state"), state);
}

QByteArray WorkbenchSettings::splitterState(const QString& name) {
    return QSettings().value(QStringLiteral("window/splitter/") + name).toByteArray();
}

void WorkbenchSettings::setSplitterState(const QString& name, const QByteArray& state) {
    QSettings().setValue(QStringLiteral("window/splitter/") + name, state);
}

}  // namespace droplora::ui
