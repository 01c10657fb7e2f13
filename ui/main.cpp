// droplora-workbench [--config FILE] [--run DIR]
//                    [--screenshot PNG [--screenshot-after-steps N] [--screenshot-size WxH]]
//
// --screenshot trains with the loaded config, grabs the whole window to PNG
// after N logged steps (or when the run ends, whichever comes first; at the end
// after the Summary tab has scored the held-out file), stops the run cleanly
// and exits 0 (the window is WxH, default 1600x1000: e.g. 1366x768 shows a laptop;
// a run folder that already holds a run is replaced); it exits non-zero when the run cannot start or
// the image cannot be written, or the run fails. Message boxes are not shown in that mode (they
// go to stderr), so it runs unattended under xvfb or QT_QPA_PLATFORM=offscreen.
#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QStringList>
#include <QTimer>
#include <cstdio>
#include <memory>

#include "common/install_paths.h"
#include "dialogs.h"
#include "mainwindow.h"
#include "metatypes.h"
#include "runsummary.h"
#include "theme.h"
#include "trainingcontroller.h"

using droplora::ui::Dialogs;
using droplora::ui::MainWindow;
using droplora::ui::RunSummary;
using droplora::ui::TrainingController;

namespace {

// Grabs the window once, then stops the run and quits with the outcome.
class ScreenshotTaker : public QObject {
public:
    ScreenshotTaker(MainWindow* window, QString path, qint64 afterSteps)
        : QObject(window), m_window(window), m_path(std::move(path)), m_afterSteps(afterSteps) {
        auto* controller = window->controller();
        connect(controller, &TrainingController::stepReported, this, [this](const droplora::train::StepMetrics& m) {
            if (m.step >= m_afterSteps) grabSoon();
        });
        connect(controller, &TrainingController::finished, this,
                [this](droplora::train::RunOutcome outcome, const QString&) {
                    m_runFailed = outcome == droplora::train::RunOutcome::Failed;
                    RunSummary* summary = m_window->runSummary();
                    if (!m_grabbed && summary->isMeasuring()) {
                        connect(summary, &RunSummary::measured, this, [this] { grabAndExit(); });
                        return;
                    }
                    grabAndExit();
                });
    }

private:
    void grabAndExit() {
        if (!m_grabbed) grab();
        QApplication::exit(m_saved && !m_runFailed ? 0 : 1);
    }

    void grabSoon() {
        if (m_grabbed || m_scheduled) return;
        m_scheduled = true;
        // Let the queued replots of this burst land first.
        QTimer::singleShot(200, this, [this] {
            grab();
            if (m_window->controller()->isRunning()) m_window->controller()->stop();
        });
    }

    void grab() {
        m_grabbed = true;
        m_saved = m_window->grab().save(m_path, "PNG");
        if (m_saved)
            std::fprintf(stderr, "screenshot written to %s\n", qPrintable(m_path));
        else
            std::fprintf(stderr, "%s: cannot write the screenshot\n", qPrintable(m_path));
    }

    MainWindow* m_window;
    QString m_path;
    qint64 m_afterSteps;
    bool m_scheduled = false;
    bool m_grabbed = false;
    bool m_saved = false;
    bool m_runFailed = false;
};

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("DropLoRA"));
    QApplication::setApplicationName(QStringLiteral("Workbench"));
    QApplication::setApplicationVersion(QString::fromStdString(droplora::common::version()));
    QGuiApplication::setDesktopFileName(QStringLiteral("io.github.droplora.Workbench"));  // resources/desktop/
    droplora::ui::registerMetaTypes();
    // The system's colours unless View → Theme chose light or dark.
    droplora::ui::captureSystemPalette();
    if (droplora::ui::savedTheme() != droplora::ui::Theme::System) droplora::ui::applyTheme(droplora::ui::savedTheme());

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("DropLoRA Workbench: fine-tune LLaMA-family models with DropLoRA"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption configOption(QStringLiteral("config"), QStringLiteral("Load a YAML run file."),
                                          QStringLiteral("FILE"));
    const QCommandLineOption runOption(QStringLiteral("run"), QStringLiteral("Open a past run folder."),
                                       QStringLiteral("DIR"));
    const QCommandLineOption shotOption(QStringLiteral("screenshot"),
                                        QStringLiteral("Train, save the window as PNG, and exit."),
                                        QStringLiteral("PNG"));
    const QCommandLineOption stepsOption(QStringLiteral("screenshot-after-steps"),
                                         QStringLiteral("Steps before the screenshot (default 5)."),
                                         QStringLiteral("N"), QStringLiteral("5"));
    const QCommandLineOption sizeOption(QStringLiteral("screenshot-size"),
                                        QStringLiteral("Window size of the screenshot (default 1600x1000)."),
                                        QStringLiteral("WxH"), QStringLiteral("1600x1000"));
    parser.addOptions({configOption, runOption, shotOption, stepsOption, sizeOption});
    parser.process(app);

    const bool screenshot = parser.isSet(shotOption);
    bool stepsOk = false;
    const qint64 afterSteps = parser.value(stepsOption).toLongLong(&stepsOk);
    if (screenshot && (!stepsOk || afterSteps < 1)) {
        std::fprintf(stderr, "--screenshot-after-steps: expected a positive integer, got '%s'\n",
                     qPrintable(parser.value(stepsOption)));
        return 2;
    }
    const QStringList sizeParts = parser.value(sizeOption).split(QLatin1Char('x'));
    const int shotWidth = sizeParts.value(0).toInt(), shotHeight = sizeParts.value(1).toInt();
    if (screenshot && (sizeParts.size() != 2 || shotWidth < 200 || shotHeight < 200)) {
        std::fprintf(stderr, "--screenshot-size: expected WIDTHxHEIGHT (e.g. 1366x768), got '%s'\n",
                     qPrintable(parser.value(sizeOption)));
        return 2;
    }
    if (screenshot) {
        Dialogs::setRecording(true, true);
        Dialogs::setChoiceAnswer(1);  // "replace the run": the demo's previous screenshot run
    }

    MainWindow window;
    bool loaded = true;
    if (parser.isSet(configOption)) {
        loaded = window.openRunFile(parser.value(configOption));
    } else {
        const QString demo = QString::fromStdString(droplora::common::demo_run_file());
        if (!demo.isEmpty()) window.openRunFile(demo);
    }
    if (parser.isSet(runOption)) loaded = window.openRunFolder(parser.value(runOption)) && loaded;

    if (screenshot) {
        window.resize(shotWidth, shotHeight);
        window.show();
        if (!loaded) return 1;
        new ScreenshotTaker(&window, parser.value(shotOption), afterSteps);
        if (!window.startTraining()) return 1;
    } else {
        window.show();
    }
    return app.exec();
}
