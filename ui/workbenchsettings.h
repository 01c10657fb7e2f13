// What the workbench remembers between sessions (QSettings): recent run files,
// recent run folders, the runs root, the last folder of each file dialog, and
// the window's geometry, dock/toolbar state and splitter positions.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace droplora::ui {

class WorkbenchSettings {
public:
    static constexpr int kMaxRecent = 10;

    static QStringList recentRunFiles();
    static void addRecentRunFile(const QString& path);
    static QStringList recentRuns();
    static void addRecentRun(const QString& dir);
    static QStringList recentModels();
    static void addRecentModel(const QString& dir);

    static QString runsRoot();
    static void setRunsRoot(const QString& dir);

    // The folder a file dialog of this kind opened last ("model", "data", ...).
    static QString lastFolder(const QString& kind);
    static void setLastFolder(const QString& kind, const QString& dir);

    static QByteArray windowGeometry();
    static QByteArray windowState();
    static void setWindow(const QByteArray& geometry, const QByteArray& state);
    // A splitter's positions, by its object name.
    static QByteArray splitterState(const QString& name);
    static void setSplitterState(const QString& name, const QByteArray& state);

private:
    static QStringList recentList(const QString& key);
    static void addRecent(const QString& key, const QString& value);
};

}  // namespace droplora::ui
