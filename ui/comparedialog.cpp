#include "comparedialog.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

namespace droplora::ui {

namespace {

enum Column { kRun, kFolder, kValLoss, kPerplexity, kExactMatch, kColumns };

QTableWidgetItem* cell(const QString& text, bool number) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

}  // namespace

CompareDialog::CompareDialog(QWidget* parent)
    : QDialog(parent), m_table(new QTableWidget(0, kColumns)), m_note(new QLabel) {
    setWindowTitle(tr("LoRA vs DropLoRA"));
    m_table->setHorizontalHeaderLabels(
        {tr("Run"), tr("Folder"), tr("Validation loss"), tr("Perplexity"), tr("Exact match")});
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(kFolder, QHeaderView::Stretch);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_note->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::hide);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_table);
    layout->addWidget(m_note);
    layout->addWidget(buttons);
    resize(720, 220);
}

void CompareDialog::setRows(const QVector<CompareSession::Row>& rows, const QString& note) {
    const QString none = QStringLiteral("—");
    m_table->setRowCount(rows.size());
    for (int r = 0; r < rows.size(); ++r) {
        const auto& row = rows[r];
        m_table->setItem(r, kRun, cell(row.name, false));
        m_table->setItem(r, kFolder, cell(row.runDir, false));
        m_table->setItem(r, kValLoss, cell(row.hasEval ? QString::number(row.valLoss, 'f', 4) : none, true));
        m_table->setItem(r, kPerplexity, cell(row.hasEval ? QString::number(row.perplexity, 'f', 2) : none, true));
        m_table->setItem(r, kExactMatch,
                         cell(row.hasExactMatch ? QStringLiteral("%1 %").arg(100 * row.exactMatch, 0, 'f', 1) : none, true));
    }
    m_table->resizeColumnsToContents();
    m_note->setText(note);
    m_note->setVisible(!note.isEmpty());
}

}  // namespace droplora::ui
