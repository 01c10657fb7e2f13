#include "comparedialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "common/files.h"
#include "dialogs.h"

namespace droplora::ui {

namespace {

QTableWidgetItem* cell(const QString& text, bool number) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QString csvField(const QString& text) {
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) && !text.contains(QLatin1Char('\n')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

}  // namespace

CompareDialog::CompareDialog(QWidget* parent)
    : QDialog(parent), m_table(new QTableWidget(0, kColumns)), m_note(new QLabel), m_save(new QPushButton(tr("Save CSV…"))) {
    setWindowTitle(tr("Compare runs"));
    m_table->setHorizontalHeaderLabels({tr("Run"), tr("Folder"), tr("Validation loss"), tr("Perplexity"),
                                        tr("Exact match"), tr("Answered exactly"), tr("State")});
    m_table->horizontalHeaderItem(kValLoss)->setToolTip(
        tr("Mean cross-entropy per answer token on the validation file (lower is better)"));
    m_table->horizontalHeaderItem(kExactMatch)->setToolTip(
        tr("Share of validation rows whose greedy answer equals the file's answer (higher is better)"));
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(kFolder, QHeaderView::Stretch);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_note->setWordWrap(true);
    m_note->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_save->setObjectName(QStringLiteral("saveCsv"));
    connect(m_save, &QPushButton::clicked, this, &CompareDialog::saveCsvAs);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    buttons->addButton(m_save, QDialogButtonBox::ActionRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::hide);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_table);
    layout->addWidget(m_note);
    layout->addWidget(buttons);
    resize(860, 260);
}

void CompareDialog::setRows(const QVector<CompareSession::Row>& rows, const QString& note) {
    const QString none = QStringLiteral("—");
    m_table->setRowCount(rows.size());
    m_best = CompareSession::bestRow(rows);
    for (int r = 0; r < rows.size(); ++r) {
        const auto& row = rows[r];
        m_table->setItem(r, kRun, cell(row.name, false));
        m_table->setItem(r, kFolder, cell(row.isBase ? QString::fromStdString(row.config.model) : row.runDir, false));
        m_table->setItem(r, kValLoss, cell(row.hasEval ? QString::number(row.valLoss, 'f', 4) : none, true));
        m_table->setItem(r, kPerplexity, cell(row.hasEval ? QString::number(row.perplexity, 'f', 2) : none, true));
        m_table->setItem(r, kExactMatch,
                         cell(row.hasExactMatch ? QStringLiteral("%1 %").arg(100 * row.exactMatch, 0, 'f', 1) : none, true));
        m_table->setItem(r, kAnswered,
                         cell(row.hasExactMatch ? tr("%1 of %2").arg(row.matched).arg(row.examples) : none, true));
        m_table->setItem(r, kStatus, cell(row.status, false));
        if (r == m_best) {
            for (int c = 0; c < kColumns; ++c) {
                QFont f = m_table->item(r, c)->font();
                f.setBold(true);
                m_table->item(r, c)->setFont(f);
                m_table->item(r, c)->setBackground(palette().color(QPalette::Highlight).lighter(170));
                m_table->item(r, c)->setForeground(palette().color(QPalette::Text));
            }
            m_table->item(r, kRun)->setToolTip(tr("The better run on these figures"));
        }
    }
    m_table->resizeColumnsToContents();
    QString text = note;
    const QString noise = CompareSession::noiseNote(rows);
    if (!noise.isEmpty()) text += (text.isEmpty() ? QString() : QStringLiteral("\n")) + noise;
    m_note->setText(text);
    m_note->setVisible(!text.isEmpty());
}

QString CompareDialog::noteText() const {
    return m_note->isVisible() ? m_note->text() : QString();
}

QString CompareDialog::csv() const {
    QStringList lines;
    QStringList header;
    for (int c = 0; c < m_table->columnCount(); ++c) header << csvField(m_table->horizontalHeaderItem(c)->text());
    lines << header.join(QLatin1Char(','));
    for (int r = 0; r < m_table->rowCount(); ++r) {
        QStringList fields;
        for (int c = 0; c < m_table->columnCount(); ++c)
            fields << csvField(m_table->item(r, c) ? m_table->item(r, c)->text() : QString());
        lines << fields.join(QLatin1Char(','));
    }
    return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

bool CompareDialog::saveCsv(const QString& path, QString* error) const {
    try {
        droplora::files::write_file_atomic(path.toStdString(), csv().toStdString());
    } catch (const std::exception& e) {
        if (error) *error = QString::fromUtf8(e.what());
        return false;
    }
    return true;
}

void CompareDialog::saveCsvAs() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save the comparison"), QStringLiteral("compare.csv"),
                                                      tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    QString error;
    if (!saveCsv(path, &error)) Dialogs::error(this, tr("Save CSV"), error);
}

}  // namespace droplora::ui
