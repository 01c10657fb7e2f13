// Past runs: the recent run folders and the runs under a chosen root folder
// (a run folder holds config.yaml and metrics.jsonl). Open one to rebuild the
// plots from its metrics.jsonl, select several to overlay their loss curves,
// or resume one from its last checkpoint.
#pragma once

#include <QStringList>
#include <QWidget>

class QListWidget;
class QPushButton;

namespace droplora::ui {

class PathEdit;

class RunsPanel : public QWidget {
    Q_OBJECT

public:
    explicit RunsPanel(QWidget* parent = nullptr);

    QStringList runDirs() const;       // as listed
    QStringList selectedRuns() const;
    void selectRuns(const QStringList& dirs);
    static bool isRunFolder(const QString& dir);

public slots:
    void refresh();
    // Remembers a run folder (QSettings) and lists it first.
    void addRecentRun(const QString& dir);

signals:
    void openRequested(const QString& dir);
    void overlayRequested(const QStringList& dirs);
    void clearOverlaysRequested();
    void resumeRequested(const QString& dir);

private:
    void updateButtons();

    PathEdit* m_root;
    QListWidget* m_list;
    QPushButton* m_open;
    QPushButton* m_overlay;
    QPushButton* m_resume;
};

}  // namespace droplora::ui
