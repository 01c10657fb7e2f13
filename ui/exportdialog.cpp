#include "exportdialog.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <utility>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

#include "exportformats.h"

namespace droplora::ui {

ExportDialog::ExportDialog(QWidget* parent)
    : QDialog(parent),
      m_sourceLabel(new QLabel(this)),
      m_format(new QComboBox(this)),
      m_ggufType(new QComboBox(this)),
      m_ggufTypeLabel(new QLabel(tr("Weights"), this)),
      m_description(new QLabel(this)),
      m_output(new QLineEdit(this)),
      m_browse(new QPushButton(tr("Choose folder…"), this)),
      m_export(new QPushButton(tr("Export"), this)),
      m_cancel(new QPushButton(tr("Cancel export"), this)),
      m_result(new QLabel(this)),
      m_snippet(new QPlainTextEdit(this)),
      m_openFolder(new QPushButton(tr("Open folder"), this)),
      m_copyPath(new QPushButton(tr("Copy path"), this)) {
    setWindowTitle(tr("Export"));
    setObjectName(QStringLiteral("ExportDialog"));
    for (const ExportFormatInfo& info : exportFormats()) m_format->addItem(info.name, static_cast<int>(info.format));
    // The types llama.cpp reads that the export writes exactly (docs/gguf.md); smaller ones come from llama-quantize.
    const std::pair<const char*, QString> types[] = {
        {"f16", tr("f16 — half the size of f32, what llama.cpp's converter writes")},
        {"q8_0", tr("q8_0 — a quarter of f32, near-lossless 8-bit blocks")},
        {"bf16", tr("bf16 — the range of f32 in half the size")},
        {"f32", tr("f32 — exact, the largest")}};
    for (const auto& [type, text] : types) m_ggufType->addItem(text, QString::fromLatin1(type));
    m_ggufType->setObjectName(QStringLiteral("GgufType"));
    m_sourceLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_sourceLabel->setWordWrap(true);
    m_description->setWordWrap(true);
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_snippet->setReadOnly(true);
    m_snippet->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_snippet->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_snippet->setMinimumHeight(150);
    m_export->setDefault(true);

    auto* outRow = new QHBoxLayout;
    outRow->addWidget(m_output, 1);
    outRow->addWidget(m_browse);
    auto* form = new QFormLayout;
    form->addRow(tr("Run"), m_sourceLabel);
    form->addRow(tr("Format"), m_format);
    form->addRow(m_ggufTypeLabel, m_ggufType);
    form->addRow(QString(), m_description);
    form->addRow(tr("Output folder"), outRow);
    auto* actions = new QHBoxLayout;
    actions->addStretch(1);
    actions->addWidget(m_cancel);
    actions->addWidget(m_export);
    auto* folderButtons = new QHBoxLayout;
    folderButtons->addWidget(m_openFolder);
    folderButtons->addWidget(m_copyPath);
    folderButtons->addStretch(1);
    auto* close = new QDialogButtonBox(QDialogButtonBox::Close, this);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(actions);
    layout->addWidget(m_result);
    layout->addLayout(folderButtons);
    layout->addWidget(new QLabel(tr("<b>How to load this</b>"), this));
    layout->addWidget(m_snippet, 1);
    layout->addWidget(close);
    resize(640, 520);

    connect(m_format, &QComboBox::currentIndexChanged, this, &ExportDialog::onFormatChanged);
    connect(m_output, &QLineEdit::textEdited, this, [this] { m_outputEdited = true; });
    connect(m_browse, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(m_export, &QPushButton::clicked, this,
            [this] { emit exportRequested(format(), m_source, outputDir()); });
    connect(m_cancel, &QPushButton::clicked, this, &ExportDialog::cancelRequested);
    connect(m_openFolder, &QPushButton::clicked, this,
            [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(m_resultDir)); });
    connect(m_copyPath, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(QDir::toNativeSeparators(m_resultDir)); });
    connect(close, &QDialogButtonBox::rejected, this, &QDialog::reject);
    setBusy(false);
    showResult(true, QString(), QString());
    onFormatChanged();
}

void ExportDialog::setSource(const QString& sourceDir, const QString& modelDir) {
    m_source = sourceDir;
    m_modelDir = modelDir;
    m_sourceLabel->setText(QDir::toNativeSeparators(sourceDir));
    m_outputEdited = false;
    onFormatChanged();
}

void ExportDialog::setFormat(droplora::exports::ExportFormat format) {
    m_format->setCurrentIndex(m_format->findData(static_cast<int>(format)));
}

droplora::exports::ExportFormat ExportDialog::format() const {
    return static_cast<droplora::exports::ExportFormat>(m_format->currentData().toInt());
}

QString ExportDialog::outputDir() const { return m_output->text().trimmed(); }

QString ExportDialog::ggufType() const { return m_ggufType->currentData().toString(); }

void ExportDialog::setGgufType(const QString& type) {
    const int i = m_ggufType->findData(type);
    if (i >= 0) m_ggufType->setCurrentIndex(i);
}

void ExportDialog::setOutputDir(const QString& dir) {
    m_output->setText(dir);
    m_outputEdited = true;
}

void ExportDialog::setBusy(bool busy) {
    m_busy = busy;
    m_export->setEnabled(!busy && !m_source.isEmpty());
    m_cancel->setVisible(busy);
    m_format->setEnabled(!busy);
    m_ggufType->setEnabled(!busy);
    m_output->setEnabled(!busy);
    m_browse->setEnabled(!busy);
    if (busy) m_result->setText(tr("exporting…"));
}

void ExportDialog::showResult(bool ok, const QString& text, const QString& outDir) {
    m_resultDir = ok ? outDir : QString();
    m_result->setText(text.isEmpty() ? QString()
                                     : ok ? text.toHtmlEscaped()
                                          : QStringLiteral("<span style=\"color:#c62828\">%1</span>")
                                                .arg(text.toHtmlEscaped()));
    m_openFolder->setEnabled(!m_resultDir.isEmpty());
    m_copyPath->setEnabled(!m_resultDir.isEmpty());
    onFormatChanged();
}

QString ExportDialog::snippetText() const { return m_snippet->toPlainText(); }

void ExportDialog::onFormatChanged() {
    const ExportFormatInfo& info = exportFormatInfo(format());
    m_description->setText(info.description);
    const bool gguf = format() == droplora::exports::ExportFormat::GgufModel;
    m_ggufType->setVisible(gguf);
    m_ggufTypeLabel->setVisible(gguf);
    if (!m_outputEdited && !m_source.isEmpty()) m_output->setText(QDir(m_source).filePath(info.folderSuffix));
    const QString out = m_resultDir.isEmpty() ? outputDir() : m_resultDir;
    m_snippet->setPlainText(loadSnippet(info, QDir::toNativeSeparators(out), QDir::toNativeSeparators(m_modelDir)));
    m_export->setEnabled(!m_source.isEmpty() && !m_busy);
}

void ExportDialog::browse() {
    // The chosen folder is the output folder itself (the dialog can make a new one).
    const QString start = outputDir().isEmpty() ? m_source : QFileInfo(outputDir()).absolutePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export into the folder"), start);
    if (dir.isEmpty()) return;
    setOutputDir(dir);
    onFormatChanged();
}

}  // namespace droplora::ui
