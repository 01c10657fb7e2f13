// The result of a comparison (Run → Compare, or two runs selected in Runs): one
// table row per run and one for the base model alone, with the final validation
// loss, perplexity, exact match and how many rows that is ("—" where not
// measured), each row's state while the comparison goes on ("training now",
// "scoring…"), the better run in bold, a note on whether one seed on that many
// rows can separate them, and the table as CSV.
#pragma once

#include <QDialog>
#include <QVector>

#include "comparesession.h"

class QLabel;
class QPushButton;
class QTableWidget;

namespace droplora::ui {

class CompareDialog : public QDialog {
    Q_OBJECT

public:
    enum Column { kRun, kFolder, kValLoss, kPerplexity, kExactMatch, kAnswered, kStatus, kColumns };

    explicit CompareDialog(QWidget* parent = nullptr);

    // `note`: what the comparison said (empty for nothing); the seed-noise note follows it.
    void setRows(const QVector<CompareSession::Row>& rows, const QString& note);
    QTableWidget* table() const { return m_table; }
    QString noteText() const;
    int highlightedRow() const { return m_best; }
    // The table as shown: a header line, then one line per row; RFC 4180 quoting.
    QString csv() const;
    // Writes csv() to `path`; false (and the reason in *error) when it cannot.
    bool saveCsv(const QString& path, QString* error) const;

private:
    void saveCsvAs();

    QTableWidget* m_table;
    QLabel* m_note;
    QPushButton* m_save;
    int m_best = -1;
};

}  // namespace droplora::ui
