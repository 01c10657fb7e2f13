#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QSettings>
#include <QStyle>
#include <QStyleFactory>
#include <optional>

namespace droplora::ui {

namespace {

std::optional<QPalette>& systemPalette() {
    static std::optional<QPalette> palette;
    return palette;
}

QPalette darkPalette() {
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x30), base(0x1e, 0x1f, 0x22), text(0xdf, 0xe1, 0xe5);
    const QColor disabled(0x80, 0x80, 0x80), highlight(0x35, 0x74, 0xf0);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, window);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9d, 0xa3));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Light, QColor(0x3c, 0x3f, 0x41));
    p.setColor(QPalette::Mid, QColor(0x55, 0x58, 0x5c));
    p.setColor(QPalette::Dark, QColor(0x18, 0x19, 0x1b));
    p.setColor(QPalette::Link, QColor(0x58, 0x9d, 0xf6));
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, disabled);
    return p;
}

}  // namespace

void captureSystemPalette() {
    if (!systemPalette()) systemPalette() = QApplication::palette();
}

void applyTheme(Theme theme) {
    captureSystemPalette();
    switch (theme) {
    case Theme::System: QApplication::setPalette(*systemPalette()); break;
    case Theme::Light:
        // Fusion's own palette is a light one on every platform.
        static QStyle* fusion = QStyleFactory::create(QStringLiteral("Fusion"));
        QApplication::setPalette(fusion->standardPalette());
        break;
    case Theme::Dark: QApplication::setPalette(darkPalette()); break;
    }
}

Theme savedTheme() {
    const QString name = QSettings().value(QStringLiteral("view/theme")).toString();
    if (name == QLatin1String("dark")) return Theme::Dark;
    if (name == QLatin1String("light")) return Theme::Light;
    return Theme::System;
}

void saveTheme(Theme theme) {
    QSettings().setValue(QStringLiteral("view/theme"), theme == Theme::Dark    ? QStringLiteral("dark")
                                                       : theme == Theme::Light ? QStringLiteral("light")
                                                                               : QStringLiteral("system"));
}

QString themeName(Theme theme) {
    switch (theme) {
    case Theme::System: return QApplication::tr("System");
    case Theme::Light: return QApplication::tr("Light");
    case Theme::Dark: return QApplication::tr("Dark");
    }
    return {};
}

}  // namespace droplora::ui
