// Past runs: the recent run folders and the runs under a chosen root folder
// (a run folder holds config.yaml and metrics.jsonl), as a table with the
// run's recipe and results (method, mask, rank, p, steps, final train and
// validation loss, exact match on the validation file once scored, date) that sorts by any column. Open one to rebuild the
// plots from its metrics.jsonl, select several to overlay their loss curves,
// resume one from its last checkpoint, or compare two finished runs
// (validation loss, exact match and the base model; CompareDialog).
#pragma once

#include <QDateTime>
#include <QHash>
#include <QStringList>
#include <QWidget>

class QPushButton;
class QTableWidget;

namespace droplora::ui {

class PathEdit;

class RunsPanel : public QWidget {
    Q_OBJECT

public:
    enum Column { kName, kMethod, kMask, kRank, kDropRate, kSteps, kTrainLoss, kValLoss, kExactMatch, kDate, kColumnCount };

    explicit RunsPanel(QWidget* parent = nullptr);

    QStringList runDirs() const;       // as listed (in the table's current order)
    QStringList selectedRuns() const;
    void selectRuns(const QStringList& dirs);
    static bool isRunFolder(const QString& dir);
    QTableWidget* table() const { return m_table; }

public slots:
    void refresh();
    // Remembers a run folder (QSettings) and lists it first.
    void addRecentRun(const QString& dir);

signals:
    void openRequested(const QString& dir);
    void overlayRequested(const QStringList& dirs);
    void clearOverlaysRequested();
    void resumeRequested(const QString& dir);
    void compareRequested(const QStringList& dirs);

private:
    // What the table shows of one run folder, read from its config.yaml and metrics.jsonl.
    struct Summary {
        QDateTime readAt;  // metrics.jsonl's modification time when read
        qint64 metricsSize = -1;
        QDateTime scoresAt;  // scores.json's modification time (invalid: none)
        QString method, mask, note;
        qint64 rank = -1;
        double dropRate = -1;
        qint64 steps = -1, maxSteps = 0;
        double trainLoss = -1, valLoss = -1;
        double exactMatch = -1;  // scores.json's, when the run was scored
        QString exactMatchNote;
        QDateTime date;
    };
    const Summary& summaryOf(const QString& dir);
    void addRow(const QString& dir, const QString& origin);
    void updateButtons();

    PathEdit* m_root;
    QTableWidget* m_table;
    QPushButton* m_open;
    QPushButton* m_overlay;
    QPushButton* m_resume;
    QPushButton* m_compare;
    QHash<QString, Summary> m_cache;  // a run is read again only when its metrics.jsonl changed
};

}  // namespace droplora::ui
