#include "dialogs.h"

#include <QApplication>
#include <QSystemTrayIcon>

#include <QMessageBox>
#include <QPushButton>
#include <QMutex>
#include <QMutexLocker>
#include <cstdio>

namespace droplora::ui {

namespace {

struct RecorderState {
    QMutex mutex;
    bool recording = false;
    bool confirmAnswer = true;
    int choiceAnswer = -1;
    QList<Dialogs::Record> records;
};

RecorderState& state() {
    static RecorderState s;
    return s;
}

}  // namespace

void Dialogs::record(Kind kind, const QString& title, const QString& text) {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    s.records.append({kind, title, text});
    std::fprintf(stderr, "[%s] %s\n", qPrintable(title), qPrintable(text));
}

void Dialogs::error(QWidget* parent, const QString& title, const QString& text) {
    if (isRecording()) return record(Kind::Error, title, text);
    QMessageBox::critical(parent, title, text);
}

void Dialogs::information(QWidget* parent, const QString& title, const QString& text) {
    if (isRecording()) return record(Kind::Information, title, text);
    QMessageBox::information(parent, title, text);
}

bool Dialogs::confirm(QWidget* parent, const QString& title, const QString& question) {
    if (isRecording()) {
        record(Kind::Question, title, question);
        QMutexLocker lock(&state().mutex);
        return state().confirmAnswer;
    }
    return QMessageBox::question(parent, title, question, QMessageBox::Yes | QMessageBox::No, QMessageBox::No) ==
           QMessageBox::Yes;
}

int Dialogs::choose(QWidget* parent, const QString& title, const QString& question, const QStringList& options,
                    int defaultIndex) {
    if (options.isEmpty()) return -1;
    if (isRecording()) {
        record(Kind::Question, title, question + QStringLiteral("\n[") + options.join(QStringLiteral(" | ")) + ']');
        QMutexLocker lock(&state().mutex);
        const int preset = state().choiceAnswer;
        return preset >= 0 && preset < options.size() ? preset : defaultIndex;
    }
    QMessageBox box(QMessageBox::Question, title, question, QMessageBox::NoButton, parent);
    QList<QAbstractButton*> buttons;
    for (int i = 0; i < options.size(); ++i)
        buttons.append(box.addButton(options[i], i + 1 == options.size() ? QMessageBox::RejectRole
                                                                         : QMessageBox::AcceptRole));
    box.setDefaultButton(qobject_cast<QPushButton*>(buttons.value(defaultIndex)));
    box.setEscapeButton(buttons.last());
    box.exec();
    const int chosen = static_cast<int>(buttons.indexOf(box.clickedButton()));
    return chosen < 0 ? static_cast<int>(options.size()) - 1 : chosen;
}

void Dialogs::notify(QWidget* window, const QString& title, const QString& text) {
    if (isRecording()) return record(Kind::Notification, title, text);
    if (window) QApplication::alert(window);
    if (!QSystemTrayIcon::isSystemTrayAvailable()) return;
    static QSystemTrayIcon* tray = nullptr;  // one for the program's life, shown only to carry messages
    if (!tray) {
        tray = new QSystemTrayIcon(QApplication::windowIcon(), qApp);
        tray->setToolTip(QApplication::applicationDisplayName());
        tray->show();
    }
    tray->showMessage(title, text, QSystemTrayIcon::Information, 8000);
}

void Dialogs::note(Kind kind, const QString& title, const QString& text) {
    if (isRecording()) record(kind, title, text);
}

void Dialogs::setChoiceAnswer(int index) {
    QMutexLocker lock(&state().mutex);
    state().choiceAnswer = index;
}

void Dialogs::setRecording(bool on, bool confirmAnswer) {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    s.recording = on;
    s.confirmAnswer = confirmAnswer;
}

bool Dialogs::isRecording() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    return s.recording;
}

QList<Dialogs::Record> Dialogs::records() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    return s.records;
}

QString Dialogs::lastError() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    for (auto it = s.records.crbegin(); it != s.records.crend(); ++it)
        if (it->kind == Kind::Error) return it->text;
    return {};
}

void Dialogs::clearRecords() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    s.records.clear();
}

}  // namespace droplora::ui
