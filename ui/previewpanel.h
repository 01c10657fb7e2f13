// The embedded demo: a prompt (and an alpaca input), a template and a token
// budget; "Generate" asks the base model and the model with the current run's
// adapter, and shows both answers side by side. During a run the adapter is the
// one being trained as it is now: the panel asks for a snapshot
// (liveAdapterWanted(); the trainer writes it between two steps, or at once
// while paused) and generates when useLiveAdapter() brings it. After a run it
// is the run's final adapter/ (else its newest checkpoint's). "Held-out example" fills the prompt from the next row of the
// validation file, generates, and marks which answer equals the file's.
#pragma once

#include <QString>
#include <QWidget>
#include <functional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace droplora::ui {

class PreviewJob;

class PreviewPanel : public QWidget {
    Q_OBJECT

public:
    // What to generate with, asked when Generate is clicked.
    struct Source {
        QString modelDir;
        QString runDir;        // may be empty: the base model only
        bool running = false;  // the run is training here: ask for a live snapshot
        QString examplesPath;  // the validation file (held-out examples); may be empty
        QString format;        // of examplesPath: auto | alpaca | chat | completion
        QString templ;         // the run's template, used for its examples
    };
    using SourceProvider = std::function<Source()>;

    explicit PreviewPanel(QWidget* parent = nullptr);

    void setSourceProvider(SourceProvider provider) { m_provider = std::move(provider); }

    // The adapter a preview of `runDir` uses: the finished run's adapter/ (unless
    // `running`), else the newest checkpoints/step-*/adapter/; empty when none.
    static QString latestAdapterDir(const QString& runDir, bool running);

    void setPrompt(const QString& prompt);
    void setInput(const QString& input);
    void setTemplate(const QString& templ);  // alpaca | llama2 | chatml | plain | none
    void setMaxNewTokens(int n);
    QString baseText() const;
    QString adaptedText() const;
    QString referenceText() const { return m_reference; }  // of the held-out example shown; else empty
    QString verdictText() const;
    QString adapterDir() const { return m_adapterDir; }  // of the last generation
    QPushButton* generateButton() const { return m_generate; }
    QPushButton* exampleButton() const { return m_example; }
    PreviewJob* job() const { return m_job; }

public slots:
    // Returns false (and says why through Dialogs) when nothing was started.
    bool generate();
    // The live snapshot asked for by liveAdapterWanted(), taken at `step`; an
    // empty dir means none could be taken (the run ended first): the run's
    // newest saved adapter is used instead.
    void useLiveAdapter(const QString& adapterDir, qint64 step);
    // The next held-out example into the prompt, then generate(). Returns false
    // (and says why through Dialogs) when there is no validation file to read.
    bool nextExample();

signals:
    void liveAdapterWanted();
    void finished(bool ok);

private:
    void onSucceeded(const QString& base, const QString& adapted);
    void onFailed(const QString& message);
    void startJob(const QString& modelDir, const QString& adapterDir, const QString& sourceText);

    SourceProvider m_provider;
    PreviewJob* m_job;
    QPlainTextEdit* m_prompt;
    QLineEdit* m_input;
    QComboBox* m_template;
    QSpinBox* m_maxTokens;
    QPushButton* m_generate;
    QPushButton* m_example;
    QLabel* m_sourceLabel;
    QLabel* m_verdict;
    QPlainTextEdit* m_base;
    QPlainTextEdit* m_adapted;
    QString m_adapterDir;
    bool m_waitingLive = false;  // liveAdapterWanted() emitted, no answer yet
    Source m_liveSource;         // what generate() was asked with while waiting
    QString m_reference;        // the held-out example's answer; cleared when the prompt is edited
    QString m_exampleHeader;    // which example, and its answer
    qint64 m_exampleIndex = 0;  // the next example to show
    bool m_filling = false;     // the prompt is being set from an example
};

}  // namespace droplora::ui
