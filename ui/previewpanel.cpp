#include "previewpanel.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFontDatabase>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <exception>

#include "dialogs.h"
#include "previewjob.h"
#include "train/run_folder.h"
#include "train/preview.h"

namespace droplora::ui {

namespace {


QPlainTextEdit* answerBox() {
    auto* box = new QPlainTextEdit;
    box->setReadOnly(true);
    box->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    return box;
}

}  // namespace

PreviewPanel::PreviewPanel(QWidget* parent)
    : QWidget(parent),
      m_job(new PreviewJob(this)),
      m_prompt(new QPlainTextEdit),
      m_input(new QLineEdit),
      m_template(new QComboBox),
      m_maxTokens(new QSpinBox),
      m_generate(new QPushButton(tr("Generate"))),
      m_example(new QPushButton(tr("Held-out example"))),
      m_sourceLabel(new QLabel),
      m_verdict(new QLabel),
      m_base(answerBox()),
      m_adapted(answerBox()) {
    m_prompt->setPlaceholderText(tr("Prompt — with a template it is the user's turn"));
    m_prompt->setMaximumHeight(70);
    m_input->setPlaceholderText(tr("Input — an alpaca row's input (optional)"));
    m_example->setToolTip(tr("The next row of the validation file as the prompt, with its reference answer"));
    // "none" feeds the raw text after BOS, as `droplora generate` without --template.
    m_template->addItems({QStringLiteral("alpaca"), QStringLiteral("llama2"), QStringLiteral("chatml"),
                          QStringLiteral("plain"), QStringLiteral("none")});
    m_maxTokens->setRange(1, 4096);
    m_maxTokens->setValue(64);
    m_sourceLabel->setWordWrap(true);
    m_sourceLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Template")));
    controls->addWidget(m_template);
    controls->addWidget(new QLabel(tr("Max new tokens")));
    controls->addWidget(m_maxTokens);
    controls->addStretch(1);
    controls->addWidget(m_example);
    controls->addWidget(m_generate);

    auto* answers = new QGridLayout;
    answers->addWidget(new QLabel(tr("Base model")), 0, 0);
    answers->addWidget(new QLabel(tr("With the adapter")), 0, 1);
    answers->addWidget(m_base, 1, 0);
    answers->addWidget(m_adapted, 1, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_prompt);
    layout->addWidget(m_input);
    layout->addLayout(controls);
    layout->addWidget(m_sourceLabel);
    layout->addWidget(m_verdict);
    layout->addLayout(answers, 1);

    m_verdict->setWordWrap(true);
    m_verdict->hide();
    connect(m_generate, &QPushButton::clicked, this, &PreviewPanel::generate);
    connect(m_example, &QPushButton::clicked, this, &PreviewPanel::nextExample);
    const auto edited = [this] {
        if (!m_filling) m_reference.clear();
    };
    connect(m_prompt, &QPlainTextEdit::textChanged, this, edited);
    connect(m_input, &QLineEdit::textChanged, this, edited);
    connect(m_job, &PreviewJob::succeeded, this, &PreviewPanel::onSucceeded);
    connect(m_job, &PreviewJob::failed, this, &PreviewPanel::onFailed);
}

QString PreviewPanel::latestAdapterDir(const QString& runDir, bool running) {
    // The final adapter/, or the newest checkpoint's (train/run_folder.h decides, for every caller alike).
    const std::string found = droplora::run_folder::newest_adapter(runDir.toStdString(), running);
    return found.empty() ? QString() : QDir::cleanPath(QString::fromStdString(found));
}

void PreviewPanel::setPrompt(const QString& prompt) {
    m_prompt->setPlainText(prompt);
}

void PreviewPanel::setInput(const QString& input) {
    m_input->setText(input);
}

bool PreviewPanel::nextExample() {
    if (m_job->isRunning() || m_waitingLive) return false;
    const Source source = m_provider ? m_provider() : Source{};
    if (source.examplesPath.isEmpty()) {
        Dialogs::error(this, tr("Preview"),
                       tr("held-out examples come from the validation file: choose one (Data tab)"));
        return false;
    }
    droplora::train::PromptExample ex;
    try {
        ex = droplora::train::prompt_example(source.examplesPath.toStdString(), source.format.toStdString(),
                                             m_exampleIndex);
    } catch (const std::exception& e) {
        Dialogs::error(this, tr("Preview"), QString::fromUtf8(e.what()));
        return false;
    }
    m_exampleIndex = ex.index + 1;
    m_filling = true;
    m_prompt->setPlainText(QString::fromStdString(ex.prompt));
    m_input->setText(QString::fromStdString(ex.input));
    setTemplate(source.templ);
    m_filling = false;
    m_reference = QString::fromStdString(ex.reference);
    m_exampleHeader = tr("Held-out example %1 of %2 (%3); the file's answer: %4")
                          .arg(ex.index + 1)
                          .arg(ex.count)
                          .arg(QString::fromStdString(ex.source), m_reference);
    m_verdict->setText(m_exampleHeader);
    m_verdict->show();
    return generate();
}

QString PreviewPanel::verdictText() const {
    return m_verdict->isVisible() ? m_verdict->text() : QString();
}

void PreviewPanel::setTemplate(const QString& templ) {
    const int i = m_template->findText(templ);
    if (i >= 0) m_template->setCurrentIndex(i);
}

void PreviewPanel::setMaxNewTokens(int n) {
    m_maxTokens->setValue(n);
}

QString PreviewPanel::baseText() const {
    return m_base->toPlainText();
}

QString PreviewPanel::adaptedText() const {
    return m_adapted->toPlainText();
}

bool PreviewPanel::generate() {
    if (m_job->isRunning() || m_waitingLive) return false;
    const Source source = m_provider ? m_provider() : Source{};
    if (source.modelDir.isEmpty()) {
        Dialogs::error(this, tr("Preview"), tr("choose a model folder first (Model tab)"));
        return false;
    }
    if (m_prompt->toPlainText().isEmpty()) {
        Dialogs::error(this, tr("Preview"), tr("write a prompt first"));
        return false;
    }
    if (source.running) {
        m_waitingLive = true;
        m_liveSource = source;
        m_sourceLabel->setText(tr("%1: asking the run for its adapter as it is now…").arg(source.modelDir));
        m_base->setPlainText(tr("waiting for the end of the current step…"));
        m_adapted->clear();
        m_generate->setEnabled(false);
        m_example->setEnabled(false);
        if (m_reference.isEmpty()) m_verdict->hide();
        emit liveAdapterWanted();
        return true;
    }
    m_adapterDir = latestAdapterDir(source.runDir, false);
    startJob(source.modelDir, m_adapterDir,
             m_adapterDir.isEmpty() ? tr("%1, no adapter yet (train or open a run)").arg(source.modelDir)
                                    : tr("%1 + %2").arg(source.modelDir, m_adapterDir));
    return true;
}

void PreviewPanel::useLiveAdapter(const QString& adapterDir, qint64 step) {
    if (!m_waitingLive) return;
    m_waitingLive = false;
    const Source& source = m_liveSource;
    if (!adapterDir.isEmpty()) {
        m_adapterDir = adapterDir;
        startJob(source.modelDir, m_adapterDir,
                 tr("%1 + the adapter being trained, as it was after step %2 (live)").arg(source.modelDir).arg(step));
        return;
    }
    m_adapterDir = latestAdapterDir(source.runDir, false);
    startJob(source.modelDir, m_adapterDir,
             m_adapterDir.isEmpty() ? tr("%1, no adapter yet (train or open a run)").arg(source.modelDir)
                                    : tr("%1 + %2").arg(source.modelDir, m_adapterDir));
}

void PreviewPanel::startJob(const QString& modelDir, const QString& adapterDir, const QString& sourceText) {
    PreviewJob::Request request;
    request.modelDir = modelDir;
    request.adapterDir = adapterDir;
    request.prompt = m_prompt->toPlainText();
    request.input = m_input->text();
    request.templ = m_template->currentText();
    request.maxNewTokens = m_maxTokens->value();
    m_sourceLabel->setText(sourceText);
    m_base->setPlainText(tr("generating…"));
    m_adapted->clear();
    m_generate->setEnabled(false);
    m_example->setEnabled(false);
    if (m_reference.isEmpty()) m_verdict->hide();
    m_job->start(request);
}

void PreviewPanel::onSucceeded(const QString& base, const QString& adapted) {
    m_generate->setEnabled(true);
    m_example->setEnabled(true);
    m_base->setPlainText(base);
    if (m_adapterDir.isEmpty()) m_adapted->setPlaceholderText(tr("no adapter in the current run yet"));
    m_adapted->setPlainText(adapted);
    if (!m_reference.isEmpty()) {
        // As exact match scores (train/task_eval.h): equal after trimming whitespace at both ends.
        const auto mark = [this](const QString& answer) {
            return answer.trimmed() == m_reference.trimmed() ? tr("equal ✓") : tr("different ✗");
        };
        QString verdict = m_exampleHeader + tr(" — base: %1").arg(mark(base));
        if (!m_adapterDir.isEmpty()) verdict += tr(", with the adapter: %1").arg(mark(adapted));
        m_verdict->setText(verdict);
    }
    emit finished(true);
}

void PreviewPanel::onFailed(const QString& message) {
    m_generate->setEnabled(true);
    m_example->setEnabled(true);
    m_base->clear();
    m_adapted->clear();
    Dialogs::error(this, tr("Preview"), message);
    emit finished(false);
}

}  // namespace droplora::ui
