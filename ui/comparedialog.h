// The result of Run → Compare: one table row per run (LoRA, DropLoRA) with its
// final validation loss, perplexity and exact match ("—" where not measured).
#pragma once

#include <QDialog>
#include <QVector>

#include "comparesession.h"

class QLabel;
class QTableWidget;

namespace droplora::ui {

class CompareDialog : public QDialog {
    Q_OBJECT

public:
    explicit CompareDialog(QWidget* parent = nullptr);

    void setRows(const QVector<CompareSession::Row>& rows, const QString& note);
    QTableWidget* table() const { return m_table; }

private:
    QTableWidget* m_table;
    QLabel* m_note;
};

}  // namespace droplora::ui
